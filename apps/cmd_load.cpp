// `stload load PATH [options]`: loads a checkpoint with a progress bar on a terminal, then prints
// what landed where and how fast.

#include <iomanip>
#include <iostream>
#include <map>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include "args.hpp"
#include "checkpoint_arg.hpp"
#include "commands.hpp"
#include "detail/rapidjson.hpp"
#include "json_string.hpp"
#include "load_args.hpp"
#include "progress_bar.hpp"
#include "report.hpp"
#include "stload/checkpoint.hpp"
#include "stload/loader.hpp"
#include "text.hpp"

namespace stload::cli {
namespace {

// One JSON object on stdout, for the benchmark runner and other programs.
void print_json(const std::string& path, const Checkpoint& checkpoint, const LoadStats& stats) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> json(buffer);
  json.StartObject();
  json.Key("path");
  write_json_string(json, path);
  json.Key("files");
  json.Uint64(checkpoint.files().size());
  json.Key("engine");
  json.String(stats.engine.c_str());
  json.Key("tensors");
  json.Uint64(stats.tensors);
  json.Key("bytes");
  json.Uint64(stats.bytes);
  json.Key("chunks");
  json.Uint64(stats.chunks);
  json.Key("plan_seconds");
  json.Double(stats.plan_seconds);
  json.Key("allocate_seconds");
  json.Double(stats.allocate_seconds);
  json.Key("copy_seconds");
  json.Double(stats.copy_seconds);
  json.Key("total_seconds");
  json.Double(stats.total_seconds);
  json.Key("gbps");
  json.Double(stats.gigabytes_per_second());
  json.Key("staging_bytes");
  json.Uint64(stats.staging_bytes);
  json.Key("files_read_by_mmap");
  json.Uint64(stats.files_read_by_mmap);
  json.Key("files_read_by_pread");
  json.Uint64(stats.files_read_by_pread);
  json.Key("files_read_by_direct");
  json.Uint64(stats.files_read_by_direct);
  json.Key("files_direct_fallback");
  json.Uint64(stats.files_direct_fallback);
  json.Key("baseline_rss_anon_bytes");
  json.Uint64(stats.baseline_rss_anon_bytes);
  json.Key("peak_rss_anon_bytes");
  json.Uint64(stats.peak_rss_anon_bytes);
  json.Key("baseline_rss_file_bytes");
  json.Uint64(stats.baseline_rss_file_bytes);
  json.Key("peak_rss_file_bytes");
  json.Uint64(stats.peak_rss_file_bytes);
  json.Key("setup_seconds");
  json.Double(stats.setup_seconds);
  json.Key("tensors_viewed");
  json.Uint64(stats.tensors_viewed);
  json.Key("bytes_viewed");
  json.Uint64(stats.bytes_viewed);
  json.Key("tensors_copied_unaligned");
  json.Uint64(stats.tensors_copied_unaligned);
  json.Key("devices");
  json.StartObject();
  for (const auto& [device, bytes] : stats.device_bytes) {
    const std::string name = device.to_string();
    json.Key(name.c_str());
    json.Uint64(bytes);
  }
  json.EndObject();
  json.Key("notes");
  json.StartArray();
  for (const std::string& note : checkpoint.notes()) write_json_string(json, note);
  json.EndArray();
  json.EndObject();
  std::cout << buffer.GetString() << '\n';
}

}  // namespace

int cmd_load(Args args) {
  std::vector<OptionSpec> specs(std::begin(kLoadOptionSpecs), std::end(kLoadOptionSpecs));
  specs.insert(specs.end(), std::begin(kCheckpointOptionSpecs), std::end(kCheckpointOptionSpecs));
  specs.push_back({"--json", false});
  const ParsedArgs parsed(args, std::span<const OptionSpec>(specs));
  if (parsed.positional().size() != 1) throw UsageError("load takes exactly one PATH");
  const std::string& path = parsed.positional().front();
  try {
    LoadOptions options = load_options_from(parsed);
    // A CPU fallback is logged as a warning, which the default log handler prints on stderr as
    // `stload: using the CPU engine: REASON`; printing the note here too would say it twice.
    auto engine = make_engine(options.engine);
    const Checkpoint checkpoint = open_checkpoint(path, parsed, std::cerr);
    ProgressBar bar;
    options.progress = bar.callback();
    LoadStats stats;
    const LoadedModel model = load(checkpoint, options, engine, &stats);
    bar.finish();

    if (parsed.has("--json")) {
      print_json(path, checkpoint, stats);
      return kExitOk;
    }
    std::map<Device, std::uint64_t> per_device_tensors;
    for (const TensorView& t : model.tensors()) ++per_device_tensors[t.device];
    std::cout << std::fixed << std::setprecision(3);
    std::cout << printable(path) << ": loaded " << stats.tensors << " tensors, "
              << format_bytes(stats.bytes) << " (" << stats.bytes << " bytes) from "
              << checkpoint.files().size() << " file(s) with the " << stats.engine << " engine\n";
    std::cout << "  copy " << stats.copy_seconds << " s = " << std::setprecision(2)
              << stats.gigabytes_per_second() << " GB/s; total " << std::setprecision(3)
              << stats.total_seconds << " s (plan " << stats.plan_seconds << " s, allocate "
              << stats.allocate_seconds << " s)\n";
    // Host arenas are the model itself (cpu devices); what the load costs on top is the rest.
    std::uint64_t host_arenas = 0;
    for (const auto& [device, bytes] : stats.device_bytes) {
      if (device.kind == DeviceKind::Cpu) host_arenas += bytes;
    }
    const std::uint64_t grown = stats.peak_rss_anon_bytes -
                                std::min(stats.peak_rss_anon_bytes, stats.baseline_rss_anon_bytes);
    std::cout << "  peak host memory (RssAnon) " << format_bytes(stats.peak_rss_anon_bytes) << ": "
              << format_bytes(stats.baseline_rss_anon_bytes) << " before the load, "
              << format_bytes(host_arenas) << " of cpu arenas, "
              << format_bytes(grown - std::min(grown, host_arenas))
              << " for the load itself (staging " << format_bytes(stats.staging_bytes) << ", "
              << stats.chunks << " chunks)\n";
    // top's RES is RssAnon + RssFile (+ RssShmem): after a load from the mapping it shows the
    // model about twice, once in the arenas and once as page cache that the kernel can reclaim.
    std::cout << "  page cache mapped (RssFile) " << format_bytes(stats.peak_rss_file_bytes)
              << " at peak, " << format_bytes(stats.baseline_rss_file_bytes)
              << " before: file pages top counts in RES, shared and reclaimable, not held by "
                 "the load\n";
    std::cout << "  read " << stats.files_read_by_mmap << " file(s) from the mapping, "
              << stats.files_read_by_pread << " with pread, " << stats.files_read_by_direct
              << " with O_DIRECT";
    if (stats.files_direct_fallback > 0) {
      std::cout << " (" << stats.files_direct_fallback
                << " with pread where the file system refused O_DIRECT)";
    }
    std::cout << "\n";
    if (options.zero_copy) {
      std::cout << "  zero-copy (--map): " << stats.tensors_viewed << " tensors, "
                << format_bytes(stats.bytes_viewed)
                << " are views of the files (nothing copied; pages come in when touched), "
                << stats.tensors_copied_unaligned
                << " copied (file offset not a multiple of their element size)\n";
    }
    for (const auto& [device, bytes] : stats.device_bytes) {
      std::cout << "  " << device.to_string() << ": " << per_device_tensors[device] << " tensors, "
                << format_bytes(bytes) << " arena\n";
    }
    return kExitOk;
  } catch (const UsageError&) {
    throw;  // --revision with a path: main prints the usage
  } catch (...) {
    return report_current_exception(path);
  }
}

}  // namespace stload::cli
