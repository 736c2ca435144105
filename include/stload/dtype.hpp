#pragma once
/// @file dtype.hpp
/// @brief The 22 element types of the safetensors format.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace stload {

/// @brief Element type, spelled as in the file's "dtype" field.
enum class Dtype : std::uint8_t {
  BOOL,
  F4,
  F6_E2M3,
  F6_E3M2,
  U8,
  I8,
  F8_E5M2,
  F8_E4M3,
  F8_E8M0,
  F8_E4M3FNUZ,
  F8_E5M2FNUZ,
  I16,
  U16,
  F16,
  BF16,
  I32,
  U32,
  F32,
  C64,
  F64,
  I64,
  U64,
};

/// @brief Every dtype, in declaration order.
inline constexpr std::array<Dtype, 22> kAllDtypes = {
    Dtype::BOOL,        Dtype::F4,      Dtype::F6_E2M3, Dtype::F6_E3M2, Dtype::U8,
    Dtype::I8,          Dtype::F8_E5M2, Dtype::F8_E4M3, Dtype::F8_E8M0, Dtype::F8_E4M3FNUZ,
    Dtype::F8_E5M2FNUZ, Dtype::I16,     Dtype::U16,     Dtype::F16,     Dtype::BF16,
    Dtype::I32,         Dtype::U32,     Dtype::F32,     Dtype::C64,     Dtype::F64,
    Dtype::I64,         Dtype::U64};

/// @brief Size of one element in bits (4 for F4, 6 for the F6 types).
[[nodiscard]] std::uint32_t bit_size(Dtype dtype) noexcept;

/// @brief The name used in headers, e.g. "BF16".
[[nodiscard]] std::string_view to_string(Dtype dtype) noexcept;

/// @brief Parses a header dtype name; nullopt when the name is not one of the 22.
[[nodiscard]] std::optional<Dtype> dtype_from_string(std::string_view name) noexcept;

}  // namespace stload
