// libFuzzer target: Checkpoint::open on a sharded checkpoint must return or throw stload::Error.
// The input is split at each "\0SPLIT\0" into index.json, a.safetensors and b.safetensors (a
// missing part leaves its file absent), so the fuzzer mutates the index and its shards together.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "fuzz_files.hpp"
#include "stload/checkpoint.hpp"
#include "stload/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::string_view kSplit("\0SPLIT\0", 7);
  constexpr const char* kNames[] = {"model.safetensors.index.json", "a.safetensors",
                                    "b.safetensors"};
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t begin = 0;
  for (const char* name : kNames) {
    if (begin > size) {
      std::filesystem::remove(stload::fuzz::scratch_dir() / name);
      continue;
    }
    const std::size_t end = std::min(input.find(kSplit, begin), size);
    stload::fuzz::write_file(name, std::span(data + begin, end - begin));
    begin = end + kSplit.size();  // past the end when no separator followed: later parts absent
  }
  try {
    const auto checkpoint = stload::Checkpoint::open(stload::fuzz::scratch_dir() / kNames[0]);
    static_cast<void>(checkpoint.total_bytes());
  } catch (const stload::Error&) {
  }
  return 0;
}
