#pragma once
/// @file tensor_parallel.hpp
/// @brief Tensor-parallel loading: each process (rank) loads only its part of the tensors the
/// split rules name, read straight from the file's bytes it needs.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stload {

/// @brief Which part of which tensors this process loads.
///
/// `split` maps tensor-name patterns (name_rules.hpp: exact name, dotted prefix, `*` within a
/// segment; the most specific wins) to the dimension that is divided among `world` ranks; rank
/// `r` gets the r-th of `world` equal parts, `[r * n / world, (r + 1) * n / world)` of a
/// dimension of size n. A tensor no rule matches is loaded whole (replicated). Splitting dim 0 of
/// a row-major tensor is one contiguous byte range; another dimension is one run per outer index
/// (only the bytes of this rank's part are read either way).
///
/// `bounds` gives single tensors explicit [begin, end) per dimension instead (as safetensors'
/// get_slice takes them; one pair per dimension, exact names only); it wins over `split`.
///
/// Errors (InvalidArgument naming the tensor, before anything is allocated): world 0 or rank >=
/// world; a split dimension the tensor lacks; a dimension `world` does not divide; bounds of the
/// wrong count, reversed or past the dimension; a sub-byte dtype (F4, F6) whose part does not
/// start and end on a byte.
struct TensorParallel {
  std::uint64_t rank = 0;   ///< this process's part
  std::uint64_t world = 1;  ///< how many parts; 1 with no bounds: nothing is sliced
  std::vector<std::pair<std::string, std::size_t>> split;  ///< name pattern -> dimension
  std::map<std::string, std::vector<std::pair<std::uint64_t, std::uint64_t>>, std::less<>>
      bounds;  ///< exact tensor name -> [begin, end) per dimension

  /// @brief True when the options slice nothing (world 1 and no bounds).
  [[nodiscard]] bool empty() const noexcept {
    return bounds.empty() && (world == 1 || split.empty());
  }
};

/// @brief A named rule set for a family of Hugging Face checkpoints: "llama" (also right for
/// Qwen, Mistral and other Llama-style names): column-parallel q/k/v/gate/up projections
/// (weights and biases) and the embedding and lm_head on dim 0, row-parallel o/down projection
/// weights on dim 1; norms and everything else replicated.
/// @throws Error InvalidArgument for a name it does not know (the message lists the known ones)
[[nodiscard]] std::vector<std::pair<std::string, std::size_t>> split_rule_set(
    std::string_view name);

/// @brief Split rules from text: a rule set's name (split_rule_set) or a JSON object of name
/// patterns to dimensions (`{"lm_head": 0, "model.layers.*.mlp.down_proj.weight": 1}`), as the
/// CLI's `--split`, the C API's `split` and Python's `split=` take them.
/// @throws Error InvalidArgument naming what is wrong (not JSON, a dimension that is not a whole
///         number, an unknown rule set)
[[nodiscard]] std::vector<std::pair<std::string, std::size_t>> parse_split_rules(
    std::string_view text);

}  // namespace stload
