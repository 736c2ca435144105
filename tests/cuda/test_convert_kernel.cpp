// The CUDA conversion kernel against the CPU conversion: both run convert/float_bits.hpp, so on a
// device every 8- and 16-bit input (and a million random 32- and 64-bit ones) must give the same
// bits as cpu/convert_elements.cpp, NaNs included. Needs a GPU (skips saying why without one);
// refused pairs are checked everywhere, since they never reach the device.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "cpu/convert_elements.hpp"
#include "cuda/convert_kernel.hpp"
#include "stload/dtype.hpp"
#include "support/cuda_skip.hpp"

namespace stload {
namespace {

struct DeviceFree {
  void operator()(void* pointer) const noexcept { (void)cudaFree(pointer); }
};
using DeviceBytes = std::unique_ptr<void, DeviceFree>;

DeviceBytes device_bytes(std::size_t bytes) {
  void* pointer = nullptr;
  EXPECT_EQ(cudaMalloc(&pointer, bytes == 0 ? 1 : bytes), cudaSuccess);
  return DeviceBytes(pointer);
}

std::vector<std::byte> inputs_of(Dtype dtype) {
  const std::size_t size = bit_size(dtype) / 8;
  std::vector<std::byte> bytes;
  if (size <= 2) {
    const std::size_t count = std::size_t{1} << (8 * size);
    bytes.resize(count * size);
    for (std::size_t i = 0; i < count; ++i) std::memcpy(bytes.data() + i * size, &i, size);
    return bytes;
  }
  std::mt19937_64 random(15);
  bytes.resize((std::size_t{1} << 20U) * size);
  for (std::size_t i = 0; i < bytes.size(); i += 8) {
    const std::uint64_t value = random();
    std::memcpy(bytes.data() + i, &value, std::min<std::size_t>(8, bytes.size() - i));
  }
  return bytes;
}

TEST(CudaConvert, every_narrow_input_converts_on_the_device_as_on_the_host) {
  STLOAD_SKIP_UNLESS_CUDA_USABLE();
  const Dtype wide[] = {Dtype::F64, Dtype::F32, Dtype::F16, Dtype::BF16};
  std::vector<std::pair<Dtype, Dtype>> pairs;
  for (const Dtype from : wide)
    for (const Dtype to : wide)
      if (from != to) pairs.emplace_back(from, to);
  for (const Dtype from : {Dtype::F8_E4M3, Dtype::F8_E5M2})
    for (const Dtype to : {Dtype::F32, Dtype::F16, Dtype::BF16}) pairs.emplace_back(from, to);

  for (const auto& [from, to] : pairs) {
    const std::vector<std::byte> in = inputs_of(from);
    const std::size_t count = in.size() / (bit_size(from) / 8);
    std::vector<std::byte> host(count * (bit_size(to) / 8));
    detail::convert_elements(from, to, in.data(), host.data(), count);

    const DeviceBytes device_in = device_bytes(in.size());
    const DeviceBytes device_out = device_bytes(host.size());
    ASSERT_EQ(cudaMemcpy(device_in.get(), in.data(), in.size(), cudaMemcpyHostToDevice),
              cudaSuccess);
    ASSERT_EQ(detail::launch_convert(from, to, device_in.get(), device_out.get(), count, nullptr),
              cudaSuccess);
    std::vector<std::byte> device(host.size());
    ASSERT_EQ(cudaMemcpy(device.data(), device_out.get(), device.size(), cudaMemcpyDeviceToHost),
              cudaSuccess);
    EXPECT_EQ(std::memcmp(device.data(), host.data(), host.size()), 0)
        << to_string(from) << " -> " << to_string(to) << " differs between device and host";
  }
}

TEST(CudaConvert, pairs_the_loader_refuses_are_invalid_value_before_any_launch) {
  const std::pair<Dtype, Dtype> refused[] = {{Dtype::I32, Dtype::F32},
                                             {Dtype::F32, Dtype::F8_E4M3},
                                             {Dtype::F8_E4M3, Dtype::F64},
                                             {Dtype::BF16, Dtype::BF16},
                                             {Dtype::BOOL, Dtype::F16}};
  for (const auto& [from, to] : refused) {
    EXPECT_EQ(detail::launch_convert(from, to, nullptr, nullptr, 4, nullptr), cudaErrorInvalidValue)
        << to_string(from) << " -> " << to_string(to);
  }
}

}  // namespace
}  // namespace stload
