// streaming_copy: the same bytes as memcpy for every size and alignment around its thresholds,
// and nothing written outside the destination.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#include "cpu/streaming_copy.hpp"
#include "support/safetensors_writer.hpp"

namespace stload {
namespace {

using detail::kStreamingCopyMinBytes;
using detail::streaming_copy;

constexpr std::size_t kGuard = 128;
constexpr std::byte kUntouched{0xA5};

TEST(StreamingCopy, copies_every_size_and_alignment_exactly_and_nothing_more) {
  const std::size_t largest = kStreamingCopyMinBytes + 4096 + 63;
  const std::vector<std::byte> source = testing::pattern_bytes(largest + 64, 7);
  std::vector<std::byte> out(largest + 64 + 2 * kGuard);
  for (const std::size_t size :
       {std::size_t{0}, std::size_t{1}, std::size_t{63}, kStreamingCopyMinBytes - 1,
        kStreamingCopyMinBytes, kStreamingCopyMinBytes + 1, kStreamingCopyMinBytes + 64,
        kStreamingCopyMinBytes + 4096 + 63}) {
    for (const std::size_t from : {0, 1, 8, 15, 16, 33, 63}) {
      for (const std::size_t to : {0, 1, 7, 16, 48, 63}) {
        std::fill(out.begin(), out.end(), kUntouched);
        std::byte* destination = out.data() + kGuard + to;
        streaming_copy(destination, source.data() + from, size);
        ASSERT_EQ(std::memcmp(destination, source.data() + from, size), 0)
            << "size " << size << ", source offset " << from << ", destination offset " << to;
        const auto untouched = [](std::byte b) { return b == kUntouched; };
        ASSERT_TRUE(std::all_of(out.data(), destination, untouched))
            << "wrote before the destination, size " << size;
        ASSERT_TRUE(std::all_of(destination + size, out.data() + out.size(), untouched))
            << "wrote past the destination, size " << size;
      }
    }
  }
}

}  // namespace
}  // namespace stload
