#include "load_args.hpp"

#include <charconv>
#include <string_view>

#include "dtype_arg.hpp"
#include "split_arg.hpp"

namespace stload::cli {
namespace {

std::uint64_t positive_number(const ParsedArgs& args, std::string_view option,
                              std::uint64_t fallback) {
  const auto text = args.value(option);
  if (!text) return fallback;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size() || value == 0 ||
      value > (1ULL << 40U)) {
    throw UsageError(std::string(option) + " needs a positive integer, got '" + *text + "'");
  }
  return value;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) parts.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return parts;
}

}  // namespace

LoadOptions load_options_from(const ParsedArgs& args) {
  LoadOptions options;
  if (const auto engine = args.value("--engine")) {
    if (*engine == "auto") {
      options.engine = EngineKind::Auto;
    } else if (*engine == "cpu") {
      options.engine = EngineKind::Cpu;
    } else if (*engine == "cuda") {
      options.engine = EngineKind::Cuda;
    } else {
      throw UsageError("--engine must be auto, cpu or cuda, got '" + *engine + "'");
    }
  }
  if (const auto map = args.value("--device-map")) {
    options.device_map = DeviceMap::parse(*map);  // stload::Error(InvalidArgument) names the fault
    options.device_map_given = true;
  }
  options.staging_bytes = positive_number(args, "--staging-mib", options.staging_bytes >> 20U)
                          << 20U;
  options.chunk_bytes = positive_number(args, "--chunk-mib", options.chunk_bytes >> 20U) << 20U;
  options.streams = positive_number(args, "--streams", options.streams);
  options.reader_threads = positive_number(args, "--threads", options.reader_threads);
  if (const auto read = args.value("--read")) {
    if (*read == "auto") {
      options.read_method = ReadMethod::Auto;
    } else if (*read == "pread") {
      options.read_method = ReadMethod::Pread;
    } else if (*read == "mmap") {
      options.read_method = ReadMethod::Mmap;
    } else if (*read == "direct") {
      options.read_method = ReadMethod::Direct;
    } else {
      throw UsageError("--read must be auto, pread, mmap or direct, got '" + *read + "'");
    }
  }
  options.direct = !args.has("--no-direct");
  if (const auto only = args.value("--only")) {
    // Name patterns (name_rules.hpp), checked by the plan: an invalid one, or one matching no
    // tensor (unless --allow-unmatched), fails naming it.
    options.only = split_commas(*only);
    if (options.only.empty()) throw UsageError("--only needs at least one name pattern");
  }
  options.allow_unmatched = args.has("--allow-unmatched");
  options.zero_copy = args.has("--map");
  options.tensor_parallel = tensor_parallel_from(args);
  options.dtype = dtype_conversion_from(args);
  return options;
}

}  // namespace stload::cli
