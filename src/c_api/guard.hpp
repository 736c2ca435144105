#pragma once
// The C API's boundary: every entry point runs its body through guard(), which turns any exception
// into a status and the thread's last-error message, so nothing thrown reaches C callers.

#include <exception>
#include <memory>
#include <new>
#include <string>

#include "stload/checkpoint.hpp"
#include "stload/error.hpp"
#include "stload/stload.h"
#include "stload/tensor_map.hpp"

// The handles, here so that every C API source reaches their insides.
struct stload_checkpoint {
  stload::Checkpoint checkpoint;
};
struct stload_model {
  stload::LoadedModel model;
};

namespace stload::c_api {

/// Records `message` as this thread's last error and returns `status`.
stload_status fail(stload_status status, std::string message) noexcept;

[[nodiscard]] stload_status status_of(ErrorCode code) noexcept;

template <typename Body>
stload_status guard(Body&& body) noexcept {
  try {
    body();
    return STLOAD_OK;
  } catch (const Error& error) {
    return fail(status_of(error.code()), error.what());
  } catch (const std::bad_alloc&) {
    return fail(STLOAD_ERROR_OUT_OF_MEMORY, "out of host memory");
  } catch (const std::exception& error) {
    return fail(STLOAD_ERROR_INTERNAL, error.what());
  } catch (...) {
    return fail(STLOAD_ERROR_INTERNAL, "unknown exception");
  }
}

}  // namespace stload::c_api
