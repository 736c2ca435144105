// Status codes, names and the thread-local last-error message of the C API.
#include <array>
#include <string>
#include <type_traits>

#include "c_api/guard.hpp"
#include "stload/dtype.hpp"
#include "stload/version.h"

namespace stload::c_api {
namespace {

thread_local std::string last_error;

// The C enums mirror the C++ ones by value; these pin that down at compile time.
static_assert(static_cast<int>(ErrorCode::HeaderTooSmall) + 1 == STLOAD_ERROR_HEADER_TOO_SMALL);
static_assert(static_cast<int>(ErrorCode::InvalidOffset) + 1 == STLOAD_ERROR_INVALID_OFFSET);
static_assert(static_cast<int>(ErrorCode::Cancelled) + 1 == STLOAD_ERROR_CANCELLED);
static_assert(static_cast<int>(Dtype::BF16) == STLOAD_DTYPE_BF16);
static_assert(static_cast<int>(Dtype::U64) == STLOAD_DTYPE_U64);
static_assert(kAllDtypes.size() == STLOAD_DTYPE_U64 + 1);

}  // namespace

stload_status fail(stload_status status, std::string message) noexcept {
  try {
    last_error = std::move(message);
  } catch (...) {  // keep the status even when the message cannot be stored
    last_error.clear();
  }
  return status;
}

stload_status status_of(ErrorCode code) noexcept {
  return static_cast<stload_status>(static_cast<int>(code) + 1);
}

}  // namespace stload::c_api

extern "C" {

const char* stload_version(void) {
  return STLOAD_VERSION_STRING;
}

const char* stload_last_error(void) {
  return stload::c_api::last_error.c_str();
}

const char* stload_status_name(stload_status status) {
  if (status == STLOAD_OK) return "Ok";
  if (status == STLOAD_ERROR_INTERNAL) return "Internal";
  if (status < STLOAD_OK || status > STLOAD_ERROR_CANCELLED) return "Unknown";
  // ErrorCode names are views of string literals, so data() is NUL-terminated.
  return stload::to_string(static_cast<stload::ErrorCode>(static_cast<int>(status) - 1)).data();
}

const char* stload_dtype_name(stload_dtype dtype) {
  if (dtype < STLOAD_DTYPE_BOOL || dtype > STLOAD_DTYPE_U64) return "?";
  return stload::to_string(static_cast<stload::Dtype>(dtype)).data();
}

}  // extern "C"
