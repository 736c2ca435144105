#pragma once
// The C API's versioned structs (stload.h, "Versioned structs"): each starts with struct_size, the
// size the caller compiled it with, which may be older (smaller) or newer (larger) than the
// library's. These two copy such a struct in or out of the library so that neither side reads or
// writes a byte the other does not have; zero is every field's default.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <type_traits>

#include "detail/check.hpp"

namespace stload::c_api {

/// Throws InvalidArgument unless `size` holds at least the struct_size field itself.
inline void check_struct_size(std::size_t size, const char* name) {
  STLOAD_EXPECT(size >= sizeof(std::size_t), ErrorCode::InvalidArgument,
                std::string(name) + ".struct_size is " + std::to_string(size) +
                    ": initialize it with its _init() function");
}

/// The caller's struct as the library's own type: fields beyond the caller's struct_size keep
/// their default (zero); bytes beyond the library's struct (fields of a newer version) must be
/// zero, i.e. ask for nothing, or the call fails: the library cannot honour what it cannot read.
template <typename Struct>
Struct from_caller(const Struct& in, const char* name) {
  static_assert(std::is_trivially_copyable_v<Struct>);
  const std::size_t size = in.struct_size;
  check_struct_size(size, name);
  const auto* bytes = reinterpret_cast<const unsigned char*>(&in);
  const auto* unknown = std::find_if(bytes + std::min(size, sizeof(Struct)), bytes + size,
                                     [](unsigned char byte) { return byte != 0; });
  STLOAD_EXPECT(unknown == bytes + size, ErrorCode::InvalidArgument,
                std::string(name) + " has a non-zero byte at offset " +
                    std::to_string(unknown - bytes) + ", past the " +
                    std::to_string(sizeof(Struct)) +
                    " bytes this library knows (a newer stload's field it cannot honour)");
  Struct out{};
  std::memcpy(&out, &in, std::min(size, sizeof(Struct)));
  out.struct_size = sizeof(Struct);
  return out;
}

/// Writes `value` into the caller's struct `out`, whose struct_size has been checked: no more
/// than the caller's struct_size bytes, the fields a newer caller has and this library does not
/// zeroed, and the caller's struct_size left as it was.
template <typename Struct>
void to_caller(Struct value, Struct& out) {
  static_assert(std::is_trivially_copyable_v<Struct>);
  const std::size_t size = out.struct_size;
  value.struct_size = size;
  auto* bytes = reinterpret_cast<unsigned char*>(&out);
  std::memcpy(bytes, &value, std::min(size, sizeof(Struct)));
  if (size > sizeof(Struct)) std::memset(bytes + sizeof(Struct), 0, size - sizeof(Struct));
}

/// A C enum field as the int the caller stored: C may store any int there, and reading a value
/// outside the enum's range through the enum type is undefined in C++ (UBSan flags it).
template <typename Enum>
int raw_value(const Enum& field) {
  static_assert(sizeof(Enum) == sizeof(int));
  int value = 0;
  std::memcpy(&value, &field, sizeof value);
  return value;
}

}  // namespace stload::c_api
