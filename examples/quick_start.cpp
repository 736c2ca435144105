// The C++ quick start of docs/cpp.md: open a checkpoint, load it, use the tensors.
//   quick_start CHECKPOINT
#include <cstdio>

#include "stload/stload.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CHECKPOINT\n", argv[0]);
    return 2;
  }
  try {
    // Reads and validates the headers only; the data stays in the page cache until load().
    const stload::Checkpoint checkpoint = stload::Checkpoint::open(argv[1]);

    // Default options: the CUDA engine and cuda:0 when a GPU answers, else host memory.
    // A device map spreads layers over devices: DeviceMap::parse(R"({"": "cuda:1"})").
    stload::LoadOptions options;
    const stload::LoadedModel model = stload::load(checkpoint, options);

    for (const stload::TensorView& tensor : model.tensors()) {
      std::printf("%s %s on %s: %llu bytes at %p\n", tensor.name.c_str(),
                  std::string(stload::to_string(tensor.dtype)).c_str(),
                  tensor.device.to_string().c_str(), static_cast<unsigned long long>(tensor.bytes),
                  tensor.data);
    }
    // The memory is freed when the last copy of `model` goes away.
    return 0;
  } catch (const stload::Error& error) {
    std::fprintf(stderr, "stload: %s\n", error.what());
    return 1;
  }
}
