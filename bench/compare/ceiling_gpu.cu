// The GPU ceiling a loader is measured against: cudaMemcpyAsync of one large pinned (cudaHostAlloc)
// host buffer to one device buffer, after a warm-up copy; the median of several copies.
//
//   stload_ceiling_gpu BYTES [--reps N] [--device I]
//
// Prints one JSON object on stdout (bytes, seconds, GB/s, device name, driver and runtime
// versions).

#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

bool ok(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return true;
  std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(status));
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: stload_ceiling_gpu BYTES [--reps N] [--device I]\n");
    return 2;
  }
  const std::size_t bytes = std::strtoull(argv[1], nullptr, 10);
  int reps = 5;
  int device = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--reps") reps = std::max(1, std::atoi(argv[i + 1]));
    if (std::string(argv[i]) == "--device") device = std::atoi(argv[i + 1]);
  }
  if (bytes == 0) {
    std::fprintf(stderr, "BYTES must be positive\n");
    return 2;
  }
  if (!ok(cudaSetDevice(device), "cudaSetDevice")) return 3;

  void* host = nullptr;
  void* target = nullptr;
  cudaStream_t stream = nullptr;
  cudaEvent_t start = nullptr;
  cudaEvent_t stop = nullptr;
  if (!ok(cudaHostAlloc(&host, bytes, cudaHostAllocDefault), "cudaHostAlloc") ||
      !ok(cudaMalloc(&target, bytes), "cudaMalloc") ||
      !ok(cudaStreamCreate(&stream), "cudaStreamCreate") ||
      !ok(cudaEventCreate(&start), "cudaEventCreate") ||
      !ok(cudaEventCreate(&stop), "cudaEventCreate")) {
    return 1;
  }
  std::memset(host, 1, bytes);  // pages touched before any timing
  if (!ok(cudaMemcpyAsync(target, host, bytes, cudaMemcpyHostToDevice, stream), "warm-up copy") ||
      !ok(cudaStreamSynchronize(stream), "warm-up sync")) {
    return 1;
  }
  std::vector<double> wall;
  std::vector<double> events;
  for (int i = 0; i < reps; ++i) {
    const auto begin = std::chrono::steady_clock::now();
    cudaEventRecord(start, stream);
    cudaMemcpyAsync(target, host, bytes, cudaMemcpyHostToDevice, stream);
    cudaEventRecord(stop, stream);
    if (!ok(cudaStreamSynchronize(stream), "copy")) return 1;
    wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count());
    float ms = 0;
    cudaEventElapsedTime(&ms, start, stop);
    events.push_back(ms / 1e3);
  }
  std::sort(wall.begin(), wall.end());
  std::sort(events.begin(), events.end());
  const double median = wall[wall.size() / 2];

  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, device);
  int driver = 0;
  int runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  std::string name;
  for (const char c : std::string(prop.name)) {
    if (c != '"' && c != '\\') name += c;
  }
  std::printf(
      "{\"method\":\"ceiling-gpu-pinned-h2d\",\"device\":\"%s\",\"driver\":%d,\"runtime\":%d,"
      "\"bytes\":%zu,"
      "\"reps\":%d,\"seconds\":%.6f,\"seconds_min\":%.6f,\"seconds_max\":%.6f,\"event_seconds\":%."
      "6f,"
      "\"gbps\":%.3f}\n",
      name.c_str(), driver, runtime, bytes, reps, median, wall.front(), wall.back(),
      events[events.size() / 2], static_cast<double>(bytes) / median / 1e9);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaStreamDestroy(stream);
  cudaFree(target);
  cudaFreeHost(host);
  return 0;
}
