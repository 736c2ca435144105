#pragma once
// Options shared by `stload load` and `stload digest`: engine, device_map, staging, threads,
// filters. One parser so both commands accept exactly the same spelling.

#include <string>
#include <vector>

#include "args.hpp"
#include "stload/loader.hpp"

namespace stload::cli {

/// The option names load-like commands accept (to pass to ParsedArgs together with their own).
inline constexpr OptionSpec kLoadOptionSpecs[] = {
    {"--engine", true},      {"--device-map", true},
    {"--staging-mib", true}, {"--chunk-mib", true},
    {"--streams", true},     {"--threads", true},
    {"--only", true},        {"--read", true},
    {"--no-direct", false},  {"--allow-unmatched", false},
    {"--map", false},        {"--tp", true},
    {"--split", true},       {"--dtype", true}};

/// LoadOptions from parsed arguments. @throws UsageError for malformed values
LoadOptions load_options_from(const ParsedArgs& args);

}  // namespace stload::cli
