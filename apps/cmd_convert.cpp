// `stload convert IN OUT [--dedupe-tied] [--shard-size SIZE]`: writes any checkpoint stload reads
// (safetensors, a PyTorch zip checkpoint, their sharded forms) as safetensors, streamed from the
// source files, and says what it wrote and how fast.

#include <cstdio>
#include <iostream>
#include <string_view>
#include <vector>

#include "args.hpp"
#include "capacity_arg.hpp"
#include "checkpoint_arg.hpp"
#include "commands.hpp"
#include "progress_bar.hpp"
#include "report.hpp"
#include "stload/convert.hpp"
#include "text.hpp"

namespace stload::cli {

int cmd_convert(Args args) {
  std::vector<OptionSpec> specs{{"--dedupe-tied", false}, {"--shard-size", true}};
  specs.insert(specs.end(), std::begin(kCheckpointOptionSpecs), std::end(kCheckpointOptionSpecs));
  const ParsedArgs parsed(args, std::span<const OptionSpec>(specs));
  if (parsed.positional().size() != 2) throw UsageError("convert takes IN and OUT");
  const std::string& in = parsed.positional()[0];
  const std::string& out = parsed.positional()[1];
  ConvertOptions options;
  options.dedupe_tied = parsed.has("--dedupe-tied");
  if (const auto size = parsed.value("--shard-size")) {
    options.shard_bytes = parse_size(*size, "--shard-size");
    if (options.shard_bytes == 0) throw UsageError("--shard-size must be above 0");
  }
  // A failure names the path it concerns: IN until it is open, then OUT (a read error's message
  // still names the source file and tensor).
  std::string_view failed = in;
  try {
    const Checkpoint checkpoint = open_checkpoint(in, parsed, std::cerr);
    failed = out;
    ProgressBar bar;
    options.progress = bar.callback();
    const ConvertResult result = convert(checkpoint, out, options);
    bar.finish();
    const double gbps =
        result.seconds > 0 ? static_cast<double>(result.bytes) / result.seconds / 1e9 : 0.0;
    std::printf("wrote %llu tensors, %s in %zu file%s in %.2f s (%.2f GB/s)\n",
                static_cast<unsigned long long>(result.tensors), format_bytes(result.bytes).c_str(),
                result.files.size(), result.files.size() == 1 ? "" : "s", result.seconds, gbps);
    for (const auto& file : result.files) std::printf("  %s\n", printable(file.string()).c_str());
    if (!result.index.empty()) {
      std::printf("  %s\n", printable(result.index.string()).c_str());
    }
    if (!result.tied.empty()) {
      std::printf("dropped %zu tied duplicate%s (metadata \"%s\"):\n", result.tied.size(),
                  result.tied.size() == 1 ? "" : "s", kTiedMetadataKey);
      for (const auto& [dropped, kept] : result.tied) {
        std::printf("  %s = %s\n", printable(dropped).c_str(), printable(kept).c_str());
      }
    }
    return kExitOk;
  } catch (const UsageError&) {
    throw;  // --revision with a path: main prints the usage
  } catch (...) {
    return report_current_exception(failed);
  }
}

}  // namespace stload::cli
