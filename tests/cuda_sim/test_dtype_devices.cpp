// Dtype conversion on the CUDA engine over every simulated device: each GPU's tensors are
// converted by kernels launched on that GPU (while the caller's current device is another one),
// host arenas of the same map convert on the host, and the scratch buffers the kernels read
// from are released with the load, also when one cannot be allocated. Each result is compared
// with convert_elements of the file bytes (the element rules are tested on their own).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cpu/convert_elements.hpp"
#include "sim_support.hpp"

namespace stload::sim_test {
namespace {

std::vector<std::byte> converted(Dtype from, Dtype to, const std::vector<std::byte>& bytes) {
  const std::uint64_t count = bytes.size() / (bit_size(from) / 8);
  std::vector<std::byte> out(count * (bit_size(to) / 8));
  detail::convert_elements(from, to, bytes.data(), out.data(), count);
  return out;
}

std::vector<std::byte> bytes_of(const LoadedModel& model, const std::string& name) {
  const TensorView& view = model.at(name);
  std::vector<std::byte> out(view.bytes);
  model.read(view, out);
  return out;
}

TEST(DtypeOnCuda, every_gpu_and_the_host_convert_their_own_tensors) {
  // Per GPU a tensor over several 64 KiB chunks and a small one; one more for host memory.
  std::vector<stload::testing::TestTensor> tensors;
  std::map<std::string, Device> rules;
  for (int d = 0; d < simulated_devices(); ++d) {
    const std::string prefix = "g" + std::to_string(d);
    tensors.push_back(conformance::make_tensor(prefix + ".w", Dtype::BF16, {130, 300},
                                               static_cast<std::uint32_t>(d + 1)));
    tensors.push_back(conformance::make_tensor(prefix + ".b", Dtype::F16, {7},
                                               static_cast<std::uint32_t>(d + 100)));
    rules[prefix] = gpu(d);
  }
  tensors.push_back(conformance::make_tensor("host.w", Dtype::F16, {120, 300}, 999));
  rules["host"] = Device{DeviceKind::Cpu, 0};
  stload::testing::TempDir dir;
  const Checkpoint checkpoint =
      Checkpoint::open(dir.write("spread.safetensors", stload::testing::make_safetensors(tensors)));
  LoadOptions options = staged(DeviceMap::from_rules(rules));
  options.dtype.floats = Dtype::F32;
  const LoadedModel model = load(checkpoint, options, make_cuda_engine());
  for (const auto& t : tensors) {
    const Dtype from = t.dtype == "BF16" ? Dtype::BF16 : Dtype::F16;
    EXPECT_EQ(model.at(t.name).dtype, Dtype::F32) << t.name;
    EXPECT_TRUE(bytes_of(model, t.name) == converted(from, Dtype::F32, t.data)) << t.name;
  }
  EXPECT_EQ(model.at("host.w").device, (Device{DeviceKind::Cpu, 0}));
  const stload_sim::Counters counters = stload_sim::counters();
  for (int d = 0; d < simulated_devices(); ++d) {
    EXPECT_EQ(model.at("g" + std::to_string(d) + ".w").device, gpu(d));
    EXPECT_GE(counters.kernels_launched.at(static_cast<std::size_t>(d)), 3U)
        << "cuda:" << d << " converts its two tensors' chunks itself";
  }
}

TEST(DtypeOnCuda, a_scratch_buffer_that_does_not_fit_is_out_of_memory_and_nothing_leaks) {
  // The F32 output (128 KiB) fits the device; the 64 KiB scratch for its chunks does not.
  stload::testing::TempDir dir;
  const Checkpoint checkpoint = Checkpoint::open(dir.write(
      "tight.safetensors", stload::testing::make_safetensors(
                               {conformance::make_tensor("w", Dtype::BF16, {64, 512}, 1)})));
  stload_sim::set_capacity(last_gpu().index, 160 * kKiB);
  LoadOptions options = staged(DeviceMap(last_gpu()));
  options.dtype.floats = Dtype::F32;
  EXPECT_TRUE(conformance::is_error(
      conformance::error_of(
          [&] { static_cast<void>(load(checkpoint, options, make_cuda_engine())); }),
      ErrorCode::OutOfMemory, {"conversion scratch of 65536 bytes on " + last_gpu().to_string()}));
  EXPECT_EQ(cudaPeekAtLastError(), cudaSuccess);
  EXPECT_TRUE(stload_sim::leaks().empty());
}

TEST(DtypeOnCuda, an_error_the_caller_caused_is_left_for_the_caller_by_a_converting_load) {
  stload::testing::TempDir dir;
  const Checkpoint checkpoint = Checkpoint::open(dir.write(
      "own.safetensors",
      stload::testing::make_safetensors({conformance::make_tensor("w", Dtype::F32, {40, 40}, 1)})));
  LoadOptions options = staged(DeviceMap(gpu(0)));
  options.dtype.floats = Dtype::BF16;
  ASSERT_EQ(cudaSetDevice(simulated_devices()), cudaErrorInvalidDevice);  // the caller's own
  const LoadedModel model = load(checkpoint, options, make_cuda_engine());
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidDevice);
  EXPECT_EQ(model.at("w").dtype, Dtype::BF16);
}

}  // namespace
}  // namespace stload::sim_test
