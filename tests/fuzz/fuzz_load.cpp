// libFuzzer target: validate-and-load of arbitrary bytes through the CPU engine. Opening and
// loading may only throw stload::Error, and a load that succeeds must reproduce every tensor's
// bytes (anything else aborts: a finding). A small staging ring with direct writes off sends every
// byte through the pipeline's reader threads and copy workers.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "fuzz_files.hpp"
#include "stload/checkpoint.hpp"
#include "stload/error.hpp"
#include "stload/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto engine = stload::make_cpu_engine({.capacity = {}, .prefault_arenas = false});
  stload::LoadOptions options;
  options.staging_bytes = 4096;
  options.chunk_bytes = 1024;
  options.direct = false;
  options.read_method = size % 2 == 0 ? stload::ReadMethod::Pread : stload::ReadMethod::Mmap;
  try {
    const auto checkpoint =
        stload::Checkpoint::open(stload::fuzz::write_file("in.safetensors", std::span(data, size)));
    const stload::LoadedModel model = stload::load(checkpoint, options, engine);
    for (const stload::TensorRecord& record : checkpoint.tensors()) {
      const stload::TensorView& view = model.at(record.info.name);
      const auto expected = checkpoint.tensor_bytes(record);
      if (view.bytes != expected.size() ||
          (view.bytes != 0 && std::memcmp(view.data, expected.data(), view.bytes) != 0)) {
        std::abort();
      }
    }
  } catch (const stload::Error&) {
  }
  return 0;
}
