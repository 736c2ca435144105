#pragma once
// Rule 3 and 4 of the format: the header JSON, read by a SAX handler straight into TensorInfo
// records. No DOM is built, so a 100 MB header with a million tensors costs one pass and the
// records themselves.

#include <string_view>

#include "stload/header.hpp"

namespace stload::detail {

/// Parses the header JSON (already known to be UTF-8) into `out.tensors` (JSON order) and
/// `out.metadata`. Throws Error(InvalidHeaderDeserialization) naming the file offset at fault;
/// `json_file_offset` is where the JSON starts in the file (8), used in messages only.
void parse_header_json(std::string_view json, std::uint64_t json_file_offset, Header& out);

}  // namespace stload::detail
