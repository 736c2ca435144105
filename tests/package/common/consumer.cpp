// What a downstream program does with stload: generate a small checkpoint, load it, check that
// every tensor arrived with the checkpoint's bytes. Built by each package consumer (find_package,
// add_subdirectory, pkg-config) against stload as that consumer finds it.
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <vector>

#include "stload/stload.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  try {
    std::filesystem::create_directories(argv[1]);
    const auto generated = stload::generate(std::filesystem::path(argv[1]) / "consumer.safetensors",
                                            stload::GenerateOptions{});
    const auto checkpoint = stload::Checkpoint::open(generated.path);
    stload::LoadOptions options;
    options.engine = stload::EngineKind::Cpu;
    const stload::LoadedModel model = stload::load(checkpoint, options);
    if (model.size() != checkpoint.tensors().size() || model.size() != generated.tensors) {
      std::fprintf(stderr, "loaded %zu of %zu tensors\n", model.size(),
                   checkpoint.tensors().size());
      return 1;
    }
    std::vector<std::byte> bytes;
    for (const stload::TensorView& tensor : model.tensors()) {
      bytes.resize(tensor.bytes);
      model.read(tensor, bytes);
      const auto expected = checkpoint.tensor_bytes(checkpoint.at(tensor.name));
      if (expected.size() != bytes.size() ||
          (!bytes.empty() && std::memcmp(expected.data(), bytes.data(), bytes.size()) != 0)) {
        std::fprintf(stderr, "tensor %s differs from the file\n", tensor.name.c_str());
        return 1;
      }
    }
    // Thrown inside the library, caught here by its type: the shared library exports its typeinfo.
    try {
      (void)stload::Checkpoint::open(std::filesystem::path(argv[1]) / "missing.safetensors");
      std::fprintf(stderr, "opening a missing file did not throw\n");
      return 1;
    } catch (const stload::Error& error) {
      if (error.code() != stload::ErrorCode::NotFound) {
        std::fprintf(stderr, "missing file: %s\n", error.what());
        return 1;
      }
    }
    std::printf("consumer: %zu tensors, %llu bytes loaded and verified\n", model.size(),
                static_cast<unsigned long long>(generated.bytes));
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "consumer: %s\n", error.what());
    return 1;
  }
}
