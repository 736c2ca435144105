// A server's whole startup through the installed package, in C++: install a log hook, open a
// sharded checkpoint and list it (names, dtypes, shapes, files, offsets, the index's metadata),
// plan it for eight GPUs that are not here, then load it on the CPU engine with progress: the
// first load cancelled from the callback, the second to the end with two tensors in the caller's
// own memory (destinations), every tensor checked against its file. Exits non-zero, saying why, at
// the first surprise.
#include <atomic>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "stload/stload.hpp"

namespace {

int fail(const std::string& why) {
  std::fprintf(stderr, "server_startup: %s\n", why.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  try {
    std::atomic<int> infos{0};
    stload::set_log_handler([&](stload::LogLevel level, std::string_view) {
      if (level == stload::LogLevel::Info) ++infos;
    });
    stload::set_log_level(stload::LogLevel::Info);

    const std::filesystem::path dir = std::filesystem::path(argv[1]) / "server_startup_cpp";
    std::filesystem::remove_all(dir);
    stload::GenerateOptions generate;
    generate.shards = 3;
    const auto generated = stload::generate(dir, generate);
    const auto checkpoint = stload::Checkpoint::open(generated.path);

    // List: what a server checks before it commits memory.
    if (checkpoint.files().size() != 3) return fail("expected 3 shards");
    std::uint64_t listed = 0;
    for (const stload::TensorRecord& tensor : checkpoint.tensors()) {
      if (tensor.file >= checkpoint.files().size() || tensor.info.name.empty())
        return fail("tensor without a file or name");
      listed += tensor.bytes();
    }
    if (listed != generated.bytes) return fail("listed bytes differ from the generated ones");

    // Plan for eight 80 GiB GPUs that this machine does not have.
    stload::DevicePlanOptions plan_options;
    plan_options.device_map = stload::DeviceMap::parse("auto");
    for (int i = 0; i < 8; ++i) plan_options.capacity[{stload::DeviceKind::Cuda, i}] = 80ULL << 30U;
    const stload::DevicePlan plan = stload::plan_for_devices(checkpoint, plan_options);
    if (plan.plan.tensor_bytes != generated.bytes || plan.devices.empty())
      return fail("the plan does not hold the model");

    // Load with progress; the first try is cancelled from the callback on its first call.
    stload::LoadOptions options;
    options.engine = stload::EngineKind::Cpu;
    options.chunk_bytes = 1U << 20U;
    int calls = 0;
    options.progress = [&](const stload::Progress&) { return ++calls < 1; };
    try {
      (void)stload::load(checkpoint, options);
      return fail("a cancelled load returned a model");
    } catch (const stload::Error& error) {
      if (error.code() != stload::ErrorCode::Cancelled) return fail(error.what());
    }
    if (calls != 1) return fail("the callback was called after it cancelled");

    // The first two tensors go into the server's own memory (operator new's alignment suits
    // every element size), the rest into the engine's arenas.
    std::vector<std::vector<std::byte>> owned;
    for (const stload::TensorRecord& tensor : checkpoint.tensors()) {
      if (owned.size() == 2) break;
      std::vector<std::byte>& memory = owned.emplace_back(tensor.bytes());
      options.destinations[tensor.info.name] =
          stload::TensorDestination{stload::Device{}, memory.data(), memory.size()};
    }
    std::uint64_t last = 0;
    options.progress = [&](const stload::Progress& progress) {
      last = progress.bytes_done;
      return true;
    };
    stload::LoadStats stats;
    const stload::LoadedModel model = stload::load(checkpoint, options, nullptr, &stats);
    if (last != generated.bytes || stats.bytes != generated.bytes)
      return fail("progress or stats do not reach the model's size");
    for (const auto& [name, destination] : options.destinations) {
      if (model.at(name).data != destination.data)
        return fail("tensor " + name + " is not in the caller's destination");
    }
    std::vector<std::byte> bytes;
    for (const stload::TensorView& tensor : model.tensors()) {
      bytes.resize(tensor.bytes);
      model.read(tensor, bytes);
      const auto expected = checkpoint.tensor_bytes(checkpoint.at(tensor.name));
      if (expected.size() != bytes.size() ||
          (!bytes.empty() && std::memcmp(expected.data(), bytes.data(), bytes.size()) != 0))
        return fail("tensor " + tensor.name + " differs from its file");
    }
    stload::set_log_handler(nullptr);
    std::printf(
        "server_startup: %zu tensors in %zu shards, planned on %zu GPUs, loaded (%llu "
        "bytes, %zu into caller memory, %d notices heard)\n",
        model.size(), checkpoint.files().size(), plan.devices.size(),
        static_cast<unsigned long long>(stats.bytes), owned.size(), infos.load());
    return 0;
  } catch (const std::exception& error) {
    return fail(error.what());
  }
}
