#pragma once
// `--tp RANK/WORLD` and `--split RULES` of load-like commands: which part of which tensors this
// process loads (stload/tensor_parallel.hpp).

#include <string_view>

#include "args.hpp"
#include "stload/tensor_parallel.hpp"

namespace stload::cli {

/// The TensorParallel `--tp` and `--split` ask for (empty when neither is given). RULES is a rule
/// set's name (`llama`), a JSON object of name patterns to dimensions (`{"lm_head": 0}`), or the
/// path of a file holding such an object.
/// @throws UsageError for a malformed value or one option without the other
TensorParallel tensor_parallel_from(const ParsedArgs& args);

}  // namespace stload::cli
