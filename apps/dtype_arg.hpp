#pragma once
// `--dtype DTYPE|RULES` of load-like commands: which dtype tensors are loaded as
// (stload/dtype_rules.hpp).

#include "args.hpp"
#include "stload/dtype_rules.hpp"

namespace stload::cli {

/// The DtypeConversion `--dtype` asks for (empty when not given): a dtype name in any case (every
/// floating tensor becomes it), a JSON object of name patterns to dtype names, or the path of a
/// file holding such an object.
/// @throws Error InvalidArgument for an unknown dtype name or malformed rules
DtypeConversion dtype_conversion_from(const ParsedArgs& args);

}  // namespace stload::cli
