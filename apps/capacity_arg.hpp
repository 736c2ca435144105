#pragma once
// `--capacity cuda:0=80GiB,cuda:1=80GiB`: the devices `stload plan` plans for and what each holds;
// and the SIZE syntax itself, shared with `stload convert --shard-size`.

#include <cstdint>
#include <map>
#include <string_view>

#include "stload/placement.hpp"

namespace stload::cli {

/// Parses a SIZE: a number (decimals allowed) with an optional unit B, KiB, MiB, GiB, TiB (powers
/// of 1024) or KB, MB, GB, TB (powers of 1000); no unit is bytes.
/// @throws UsageError saying `what` (e.g. "--shard-size") needs a size
std::uint64_t parse_size(std::string_view text, std::string_view what);

/// Parses DEVICE=SIZE[,DEVICE=SIZE...]; SIZE is a number (decimals allowed) with an optional
/// unit B, KiB, MiB, GiB, TiB (powers of 1024) or KB, MB, GB, TB (powers of 1000); no unit is
/// bytes. @throws UsageError naming the entry that is wrong
std::map<Device, std::uint64_t> parse_capacities(std::string_view text);

}  // namespace stload::cli
