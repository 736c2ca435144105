#pragma once
/// @file dtype_rules.hpp
/// @brief Which dtype each tensor is loaded as, when it should not stay the checkpoint's.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stload/dtype.hpp"

namespace stload {

/// @brief Dtype conversion during the load (LoadOptions::dtype, PlanOptions::dtype).
///
/// `rules` maps tensor-name patterns (name_rules.hpp: exact name, dotted prefix, `*` within a
/// segment; the most specific wins) to the dtype the tensor is loaded as; a tensor a rule matches
/// gets that dtype whatever its own. Any other tensor whose dtype is a floating type of a byte or
/// more (F8_E4M3, F8_E5M2, F8_E4M3FNUZ, F8_E5M2FNUZ, F16, BF16, F32, F64) is loaded as `floats`
/// when set. Integers, BOOL, the sub-byte F4/F6 types, F8_E8M0 (scale exponents) and C64 are never
/// converted implicitly; only a rule naming them can ask, and it is refused.
///
/// Supported conversions: BF16, F16, F32 and F64 to each other; F8_E4M3 and F8_E5M2 to BF16, F16
/// and F32; any dtype to itself (a plain copy). Every other pair (an integer, BOOL, a sub-byte
/// type, an F8 target, FNUZ, ...) fails the plan with InvalidArgument naming the tensor and both
/// dtypes, before anything is allocated. Shapes never change; sizes follow the new element size.
struct DtypeConversion {
  std::optional<Dtype> floats;                       ///< target of every floating tensor
  std::vector<std::pair<std::string, Dtype>> rules;  ///< name pattern -> target; wins over floats

  /// @brief True when nothing is converted.
  [[nodiscard]] bool empty() const noexcept { return !floats && rules.empty(); }
};

/// @brief A dtype by its reference name in any case ("bf16", "F32"), nullopt when it is none.
[[nodiscard]] std::optional<Dtype> dtype_from_name(std::string_view name);

/// @brief A DtypeConversion from text, as the CLI's `--dtype`, the C API's `dtype` and Python's
/// `dtype=` take it: a dtype name (any case) sets `floats`; a JSON object of name patterns to
/// dtype names (`{"lm_head": "f32", "model.layers.*.mlp": "bf16"}`) sets `rules`.
/// @throws Error InvalidArgument naming what is wrong (not JSON, an unknown dtype name)
[[nodiscard]] DtypeConversion parse_dtype_conversion(std::string_view text);

}  // namespace stload
