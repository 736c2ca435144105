// The simulated runtime itself: it must catch each rule it claims to enforce, or a passing
// cuda-sim suite would mean nothing. Each test breaks one rule on purpose and takes the violation.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "cpu/convert_elements.hpp"
#include "cuda/convert_kernel.hpp"
#include "stload_sim.hpp"

namespace {

bool mentions(const std::vector<std::string>& lines, const std::string& part) {
  for (const std::string& line : lines) {
    if (line.find(part) != std::string::npos) return true;
  }
  return false;
}

TEST(Simulator, event_recorded_on_a_stream_of_another_device_fails_and_is_a_violation) {
  if (stload_sim::config().devices < 2) GTEST_SKIP() << "needs two simulated devices";
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  cudaEvent_t event = nullptr;
  ASSERT_EQ(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), cudaSuccess);
  EXPECT_EQ(cudaEventRecord(event, stream), cudaErrorInvalidResourceHandle);
  EXPECT_TRUE(mentions(stload_sim::take_violations(), "event of cuda:1 recorded on a stream of"));
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidResourceHandle);
  EXPECT_EQ(cudaEventDestroy(event), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  ASSERT_EQ(cudaSetDevice(stload_sim::config().devices - 1), cudaSuccess);
}

TEST(Simulator, host_source_changed_before_its_copy_completed_is_a_violation) {
  stload_sim::SimConfig slow = stload_sim::config();
  slow.max_delay = std::chrono::microseconds(20'000);
  stload_sim::reset(slow);
  ASSERT_EQ(cudaSetDevice(slow.devices - 1), cudaSuccess);
  void* pinned = nullptr;
  void* device = nullptr;
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaHostAlloc(&pinned, 4096, cudaHostAllocPortable), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&device, 4096), cudaSuccess);
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  // Two copies queued: the second waits behind the first's delay, so the write below lands
  // before it runs, however the delays fall.
  std::memset(pinned, 1, 4096);
  ASSERT_EQ(cudaMemcpyAsync(device, pinned, 4096, cudaMemcpyHostToDevice, stream), cudaSuccess);
  ASSERT_EQ(cudaMemcpyAsync(device, pinned, 4096, cudaMemcpyHostToDevice, stream), cudaSuccess);
  std::memset(pinned, 2, 4096);  // the bug: no wait before reusing the source
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  EXPECT_TRUE(mentions(stload_sim::take_violations(), "changed between enqueue and completion"));
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  EXPECT_EQ(cudaFree(device), cudaSuccess);
  EXPECT_EQ(cudaFreeHost(pinned), cudaSuccess);
}

TEST(Simulator, stream_used_after_destroy_fails_and_is_a_violation) {
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaErrorInvalidResourceHandle);
  EXPECT_TRUE(mentions(stload_sim::take_violations(), "used after cudaStreamDestroy"));
  static_cast<void>(cudaGetLastError());
}

TEST(Simulator, malloc_past_capacity_fails_and_stays_the_last_error_until_read) {
  stload_sim::SimConfig small = stload_sim::config();
  small.capacity_per_device = 1 << 20;
  stload_sim::reset(small);
  ASSERT_EQ(cudaSetDevice(small.devices - 1), cudaSuccess);
  void* memory = nullptr;
  EXPECT_EQ(cudaMalloc(&memory, 2 << 20), cudaErrorMemoryAllocation);
  int device = -1;
  EXPECT_EQ(cudaGetDevice(&device), cudaSuccess);  // success does not clear it
  EXPECT_EQ(cudaPeekAtLastError(), cudaErrorMemoryAllocation);
  EXPECT_EQ(cudaGetLastError(), cudaErrorMemoryAllocation);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  std::size_t free_bytes = 0;
  std::size_t total = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total), cudaSuccess);
  EXPECT_EQ(total, 1U << 20U);
  EXPECT_EQ(free_bytes, 1U << 20U);
}

TEST(Simulator, what_is_left_alive_is_reported_as_leaks) {
  void* memory = nullptr;
  cudaEvent_t event = nullptr;
  ASSERT_EQ(cudaMalloc(&memory, 512), cudaSuccess);
  ASSERT_EQ(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), cudaSuccess);
  EXPECT_EQ(stload_sim::leaks().size(), 2U);
  EXPECT_EQ(cudaEventDestroy(event), cudaSuccess);
  EXPECT_EQ(cudaFree(memory), cudaSuccess);
  EXPECT_TRUE(stload_sim::leaks().empty());
  EXPECT_EQ(cudaFree(memory), cudaErrorInvalidValue);  // twice
  EXPECT_TRUE(mentions(stload_sim::take_violations(), "freed twice"));
  static_cast<void>(cudaGetLastError());
}

TEST(Simulator, current_device_is_per_thread_and_starts_at_zero) {
  const int last = stload_sim::config().devices - 1;
  int here = -1;
  ASSERT_EQ(cudaGetDevice(&here), cudaSuccess);
  EXPECT_EQ(here, last);  // as the rules listener set it for this test
  int there = -1;
  std::thread([&there] { static_cast<void>(cudaGetDevice(&there)); }).join();
  EXPECT_EQ(there, 0);
  EXPECT_EQ(cudaSetDevice(last + 1), cudaErrorInvalidDevice);
  static_cast<void>(cudaGetLastError());
}

TEST(Simulator, after_unload_every_call_fails_with_cudart_unloading) {
  stload_sim::unload_runtime();
  void* memory = nullptr;
  EXPECT_EQ(cudaMalloc(&memory, 16), cudaErrorCudartUnloading);
  EXPECT_TRUE(stload_sim::leaks().empty());
  stload_sim::reset(stload_sim::config());
  ASSERT_EQ(cudaSetDevice(stload_sim::config().devices - 1), cudaSuccess);
}

// The conversion kernel's stand-in (sim_convert_kernel.cpp) is launched the way the engine
// launches it: detail::launch_convert on a stream of the current device.
TEST(Simulator, kernel_runs_on_the_device_after_the_streams_earlier_copy) {
  stload_sim::SimConfig slow = stload_sim::config();
  slow.max_delay = std::chrono::microseconds(5'000);
  stload_sim::reset(slow);
  ASSERT_EQ(cudaSetDevice(slow.devices - 1), cudaSuccess);
  constexpr std::size_t kCount = 1000;
  void* pinned = nullptr;
  void* in = nullptr;
  void* out = nullptr;
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaHostAlloc(&pinned, kCount * 2, cudaHostAllocPortable), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&in, kCount * 2), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&out, kCount * 4), cudaSuccess);
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  auto* host = static_cast<std::byte*>(pinned);
  for (std::size_t i = 0; i < kCount * 2; ++i) host[i] = static_cast<std::byte>(i * 7 + 3);
  ASSERT_EQ(cudaMemcpyAsync(in, pinned, kCount * 2, cudaMemcpyHostToDevice, stream), cudaSuccess);
  ASSERT_EQ(stload::detail::launch_convert(stload::Dtype::BF16, stload::Dtype::F32, in, out, kCount,
                                           stream),
            cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  std::vector<std::byte> expected(kCount * 4);
  stload::detail::convert_elements(stload::Dtype::BF16, stload::Dtype::F32, host, expected.data(),
                                   kCount);
  std::vector<std::byte> got(kCount * 4);
  ASSERT_EQ(cudaMemcpy(got.data(), out, got.size(), cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_TRUE(got == expected);
  EXPECT_EQ(stload_sim::counters().kernels_launched.at(static_cast<std::size_t>(slow.devices - 1)),
            1U);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  EXPECT_EQ(cudaFree(out), cudaSuccess);
  EXPECT_EQ(cudaFree(in), cudaSuccess);
  EXPECT_EQ(cudaFreeHost(pinned), cudaSuccess);
}

TEST(Simulator, kernel_launched_on_a_stream_of_a_device_not_current_fails_and_is_a_violation) {
  if (stload_sim::config().devices < 2) GTEST_SKIP() << "needs two simulated devices";
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  cudaStream_t stream = nullptr;
  void* memory = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&memory, 4096), cudaSuccess);
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);  // the bug: no switch to the stream's device
  auto* bytes = static_cast<std::byte*>(memory);
  EXPECT_EQ(stload::detail::launch_convert(stload::Dtype::F16, stload::Dtype::F32, bytes,
                                           bytes + 1024, 256, stream),
            cudaErrorInvalidResourceHandle);
  EXPECT_TRUE(mentions(stload_sim::take_violations(),
                       "launched on a stream of cuda:0 while cuda:1 is current"));
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidResourceHandle);
  EXPECT_EQ(stload_sim::counters().kernels_launched.at(0), 0U);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  EXPECT_EQ(cudaFree(memory), cudaSuccess);
  ASSERT_EQ(cudaSetDevice(stload_sim::config().devices - 1), cudaSuccess);
}

TEST(Simulator, kernel_outside_a_live_allocation_or_misaligned_fails_and_is_a_violation) {
  cudaStream_t stream = nullptr;
  void* memory = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&memory, 4096), cudaSuccess);
  auto* bytes = static_cast<std::byte*>(memory);
  // 1024 F32 outputs from offset 1024: 4096 bytes, past the allocation's end.
  EXPECT_EQ(stload::detail::launch_convert(stload::Dtype::F16, stload::Dtype::F32, bytes,
                                           bytes + 1024, 1024, stream),
            cudaErrorInvalidValue);
  EXPECT_TRUE(mentions(stload_sim::take_violations(), "outside any live allocation"));
  std::vector<std::byte> host(64);
  EXPECT_EQ(stload::detail::launch_convert(stload::Dtype::F16, stload::Dtype::F32, host.data(),
                                           bytes, 16, stream),
            cudaErrorInvalidValue);  // host memory is no device allocation
  EXPECT_TRUE(mentions(stload_sim::take_violations(), "outside any live allocation"));
  EXPECT_EQ(stload::detail::launch_convert(stload::Dtype::F16, stload::Dtype::F32, bytes + 1,
                                           bytes + 1024, 16, stream),
            cudaErrorInvalidValue);
  EXPECT_TRUE(mentions(stload_sim::take_violations(), "not aligned to its 2-byte elements"));
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  EXPECT_EQ(cudaFree(memory), cudaSuccess);
}

TEST(Simulator, memory_a_queued_kernel_uses_freed_is_a_violation) {
  stload_sim::SimConfig slow = stload_sim::config();
  slow.max_delay = std::chrono::microseconds(20'000);
  stload_sim::reset(slow);
  ASSERT_EQ(cudaSetDevice(slow.devices - 1), cudaSuccess);
  cudaStream_t stream = nullptr;
  void* in = nullptr;
  void* out = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&in, 4096), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&out, 8192), cudaSuccess);
  // Two launches queued: the second waits behind the first's delay, so the free below comes
  // before it runs, however the delays fall.
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(stload::detail::launch_convert(stload::Dtype::F16, stload::Dtype::F32, in, out, 2048,
                                             stream),
              cudaSuccess);
  }
  EXPECT_EQ(cudaFree(out), cudaSuccess);  // the bug: no synchronisation first
  EXPECT_TRUE(mentions(stload_sim::take_violations(), "copy or kernel still in flight"));
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  EXPECT_EQ(cudaFree(in), cudaSuccess);
}

TEST(Simulator, devices_describe_themselves_as_simulated) {
  cudaDeviceProp properties{};
  ASSERT_EQ(cudaGetDeviceProperties(&properties, 0), cudaSuccess);
  EXPECT_NE(std::string(properties.name).find("simulated"), std::string::npos);
  int version = 0;
  EXPECT_EQ(cudaRuntimeGetVersion(&version), cudaSuccess);
  EXPECT_EQ(version, CUDART_VERSION);
  EXPECT_EQ(cudaDriverGetVersion(&version), cudaSuccess);
  int count = 0;
  EXPECT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  EXPECT_EQ(count, stload_sim::config().devices);
}

}  // namespace
