// A server-style loader: what an inference server does at startup with stload.
//
//   load_server CHECKPOINT [DEVICE_MAP] [--engine auto|cpu|cuda]
//
// CHECKPOINT is a .safetensors file, a directory, or a *.index.json; DEVICE_MAP is a device
// ("cuda:0"), "auto", or a JSON object of rules ('{"model.layers.0": "cuda:0", "": "cuda:1"}').
// Prints where the tensors went and how long the load took, then serves a lookup as a server's
// weight loader would. Exits 1 with stload's message on failure, 2 on a usage error.
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>

#include "stload/stload.hpp"

namespace {

struct DeviceSummary {
  std::size_t tensors = 0;
  std::uint64_t bytes = 0;
};

int usage(const char* program) {
  std::fprintf(stderr, "usage: %s CHECKPOINT [DEVICE_MAP] [--engine auto|cpu|cuda]\n", program);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string checkpoint_path;
  std::string device_map;
  stload::EngineKind engine = stload::EngineKind::Auto;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--engine" && i + 1 < argc) {
      const std::string_view kind = argv[++i];
      if (kind == "cpu") {
        engine = stload::EngineKind::Cpu;
      } else if (kind == "cuda") {
        engine = stload::EngineKind::Cuda;
      } else if (kind != "auto") {
        return usage(argv[0]);
      }
    } else if (checkpoint_path.empty()) {
      checkpoint_path = arg;
    } else if (device_map.empty()) {
      device_map = arg;
    } else {
      return usage(argv[0]);
    }
  }
  if (checkpoint_path.empty()) return usage(argv[0]);

  try {
    const auto started = std::chrono::steady_clock::now();
    const stload::Checkpoint checkpoint = stload::Checkpoint::open(checkpoint_path);
    const auto opened = std::chrono::steady_clock::now();

    stload::LoadOptions options;
    options.engine = engine;
    if (!device_map.empty()) {
      options.device_map = stload::DeviceMap::parse(device_map);  // throws on a bad map
      options.device_map_given = true;
    }
    stload::LoadStats stats;
    const stload::LoadedModel model = stload::load(checkpoint, options, nullptr, &stats);

    std::map<stload::Device, DeviceSummary> per_device;
    for (const stload::TensorView& tensor : model.tensors()) {
      DeviceSummary& summary = per_device[tensor.device];
      ++summary.tensors;
      summary.bytes += tensor.bytes;
    }
    const double open_ms = std::chrono::duration<double, std::milli>(opened - started).count();
    std::printf("%s: %zu files, %zu tensors, %.1f MiB, engine %s\n", checkpoint_path.c_str(),
                checkpoint.files().size(), model.size(),
                static_cast<double>(stats.bytes) / (1 << 20), stats.engine.c_str());
    for (const auto& [device, summary] : per_device) {
      std::printf("  %-8s %6zu tensors %10.1f MiB\n", device.to_string().c_str(), summary.tensors,
                  static_cast<double>(summary.bytes) / (1 << 20));
    }
    std::printf("open %.1f ms, load %.1f ms (copy %.1f ms, %.2f GB/s)\n", open_ms,
                stats.total_seconds * 1e3, stats.copy_seconds * 1e3, stats.gigabytes_per_second());

    // Serving: the model hands out device pointers by name for the whole process lifetime.
    if (!model.tensors().empty()) {
      const stload::TensorView& first = model.at(model.tensors().front().name);
      std::printf("serving: %s %s on %s at %p\n", first.name.c_str(),
                  std::string(stload::to_string(first.dtype)).c_str(),
                  first.device.to_string().c_str(), first.data);
    }
    return 0;
  } catch (const stload::Error& error) {
    std::fprintf(stderr, "error: %s: %s\n", std::string(stload::to_string(error.code())).c_str(),
                 error.what());
    return 1;
  }
}
