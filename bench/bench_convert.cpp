// Throughput of the CPU engine's dtype conversion (cpu/convert_elements.cpp) against memcpy of
// the same output bytes, single thread, buffers larger than the caches: what a converted load
// can reach per reader thread. GB/s counts output bytes (10^9), as issue 15's target does
// (converted load >= 0.8x the plain copy's GB/s).
// Usage: bench_convert [MiB of output, default 512]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cpu/convert_elements.hpp"
#include "stload/dtype.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// Best of five runs, in GB/s of `out_bytes`.
template <typename Run>
double best_gbps(std::uint64_t out_bytes, Run&& run) {
  double best = 0;
  for (int i = 0; i < 5; ++i) {
    const auto start = Clock::now();
    run();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    best = std::max(best, static_cast<double>(out_bytes) / seconds / 1e9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t out_mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 512;
  const std::uint64_t out_bytes = out_mib << 20U;
  struct Case {
    stload::Dtype from;
    stload::Dtype to;
  };
  const Case cases[] = {{stload::Dtype::BF16, stload::Dtype::F16},
                        {stload::Dtype::BF16, stload::Dtype::F32},
                        {stload::Dtype::F16, stload::Dtype::F32},
                        {stload::Dtype::F32, stload::Dtype::BF16},
                        {stload::Dtype::F8_E4M3, stload::Dtype::BF16}};
  std::vector<std::byte> out(out_bytes);
  std::vector<std::byte> copy_in(out_bytes);
  for (std::size_t i = 0; i < copy_in.size(); ++i) copy_in[i] = static_cast<std::byte>(i * 131);
  std::memset(out.data(), 1, out.size());  // fault the pages in outside the timing
  const double copy =
      best_gbps(out_bytes, [&] { std::memcpy(out.data(), copy_in.data(), out_bytes); });
  std::printf("memcpy                 %6.2f GB/s (output bytes)\n", copy);
  std::string json = "{\"benchmark\":\"convert\",\"out_mib\":" + std::to_string(out_mib) +
                     ",\"memcpy_gbps\":" + std::to_string(copy);
  for (const Case& c : cases) {
    const std::uint64_t in_size = stload::bit_size(c.from) / 8;
    const std::uint64_t out_size = stload::bit_size(c.to) / 8;
    const std::uint64_t count = out_bytes / out_size;
    std::vector<std::byte> in(count * in_size);
    for (std::size_t i = 0; i < in.size(); ++i)
      in[i] = static_cast<std::byte>((i * 2654435761U) >> 13U);
    const double gbps = best_gbps(count * out_size, [&] {
      stload::detail::convert_elements(c.from, c.to, in.data(), out.data(), count);
    });
    const std::string name =
        std::string(stload::to_string(c.from)) + " -> " + std::string(stload::to_string(c.to));
    std::printf("%-22s %6.2f GB/s (%.2fx memcpy)\n", name.c_str(), gbps, gbps / copy);
    json += ",\"" + std::string(stload::to_string(c.from)) + "_" +
            std::string(stload::to_string(c.to)) + "_gbps\":" + std::to_string(gbps);
  }
  std::printf("%s}\n", json.c_str());
  return 0;
}
