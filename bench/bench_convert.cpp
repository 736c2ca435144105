// Throughput of the CPU engine's dtype conversion (cpu/convert_elements.cpp) against memcpy of
// the same output bytes, single thread, buffers larger than the caches: what a converted load
// can reach per reader thread. GB/s counts output bytes (10^9), as issue 15's target does
// (converted load >= 0.8x the plain copy's GB/s).
// Every pair, each beside a memcpy of the same output bytes (ratio = convert / memcpy).
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
  using stload::Dtype;
  // Every pair convert_elements takes, most asked-for first.
  const Dtype sources[] = {Dtype::BF16, Dtype::F16,     Dtype::F32,
                           Dtype::F64,  Dtype::F8_E4M3, Dtype::F8_E5M2};
  const Dtype targets[] = {Dtype::F32, Dtype::F16, Dtype::BF16, Dtype::F64};
  std::vector<std::byte> out(out_bytes);
  std::vector<std::byte> copy_in(out_bytes);
  for (std::size_t i = 0; i < copy_in.size(); ++i) copy_in[i] = static_cast<std::byte>(i * 131);
  std::memset(out.data(), 1, out.size());  // fault the pages in outside the timing
  std::printf("%-18s %10s %12s %7s\n", "pair", "GB/s", "memcpy GB/s", "ratio");
  std::string json = "{\"benchmark\":\"convert\",\"out_mib\":" + std::to_string(out_mib);
  for (const Dtype from : sources) {
    for (const Dtype to : targets) {
      if (from == to || !stload::detail::convertible(from, to)) continue;
      const std::uint64_t in_size = stload::bit_size(from) / 8;
      const std::uint64_t out_size = stload::bit_size(to) / 8;
      const std::uint64_t count = out_bytes / out_size;
      // Pseudo-random bits: every exponent, NaNs and subnormals included (no data-dependent
      // branch in the loops; a table sees its worst, scattered, access pattern).
      std::vector<std::byte> in(count * in_size);
      for (std::size_t i = 0; i < in.size(); ++i)
        in[i] = static_cast<std::byte>((i * 2654435761U) >> 13U);
      // memcpy of the same output bytes measured beside each pair: the machine is shared, and
      // a ratio of figures taken minutes apart would measure its load as much as the loop.
      const std::uint64_t bytes = count * out_size;
      const double copy = best_gbps(bytes, [&] { std::memcpy(out.data(), copy_in.data(), bytes); });
      const double gbps = best_gbps(
          bytes, [&] { stload::detail::convert_elements(from, to, in.data(), out.data(), count); });
      const std::string name =
          std::string(stload::to_string(from)) + " -> " + std::string(stload::to_string(to));
      std::printf("%-18s %10.2f %12.2f %6.2fx\n", name.c_str(), gbps, copy, gbps / copy);
      const std::string key =
          std::string(stload::to_string(from)) + "_" + std::string(stload::to_string(to));
      json += ",\"" + key + "_gbps\":" + std::to_string(gbps) + ",\"" + key +
              "_memcpy_gbps\":" + std::to_string(copy);
    }
  }
  std::printf("%s}\n", json.c_str());
  return 0;
}
