// Host-to-device copy bandwidth by kind of host memory, the figures the CUDA engine's staging
// design rests on: pinned (cudaHostAlloc: what stload's staging ring uses), pageable (malloc: what
// a loader without pinned memory gets, the driver staging it internally) and registered
// (cudaHostRegister of ordinary memory: the alternative to copying into a pinned ring). Each
// kind at a few sizes, one cudaMemcpyAsync per repetition after a warm-up, median of the reps;
// the one-off setup (allocation, registration) is timed apart, since a loader pays it per load
// unless it pools.
//
//   stload_h2d_probe [--sizes-mib 1,16,64,256,1024] [--reps 5] [--device I]
//
// Prints one JSON object on stdout; progress on stderr. Exit 1 when CUDA fails (message on
// stderr and in the JSON's "error").

#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Failure {
  std::string message;
};

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw Failure{std::string(what) + ": " + cudaGetErrorName(status) + ": " +
                  cudaGetErrorString(status)};
  }
}

// One host buffer of a kind; released with the matching call.
class HostBuffer {
 public:
  HostBuffer(const std::string& kind, std::size_t bytes) : kind_(kind) {
    const auto start = Clock::now();
    if (kind == "pinned") {
      check(cudaHostAlloc(&data_, bytes, cudaHostAllocDefault), "cudaHostAlloc");
    } else {
      // 4 KiB aligned: cudaHostRegister pins whole pages, and pageable copies then compare fairly.
      data_ = std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
      if (data_ == nullptr) throw Failure{"aligned_alloc of " + std::to_string(bytes) + " bytes"};
    }
    std::memset(data_, 1, bytes);  // every page faulted in before registration and timing
    if (kind == "registered") {
      check(cudaHostRegister(data_, bytes, cudaHostRegisterDefault), "cudaHostRegister");
      registered_ = true;
    }
    setup_seconds_ = seconds_since(start);
  }
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;
  ~HostBuffer() {
    if (registered_) cudaHostUnregister(data_);
    if (kind_ == "pinned") {
      cudaFreeHost(data_);
    } else {
      std::free(data_);
    }
  }
  [[nodiscard]] void* data() const { return data_; }
  [[nodiscard]] double setup_seconds() const { return setup_seconds_; }

 private:
  std::string kind_;
  void* data_ = nullptr;
  bool registered_ = false;
  double setup_seconds_ = 0;
};

std::vector<std::size_t> parse_sizes(const char* text) {
  std::vector<std::size_t> sizes;
  const std::string list(text);
  std::size_t start = 0;
  while (start < list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    const std::size_t mib = std::strtoull(list.substr(start, comma - start).c_str(), nullptr, 10);
    if (mib > 0) sizes.push_back(mib << 20U);
    start = comma + 1;
  }
  return sizes;
}

std::string json_text(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes = parse_sizes("1,16,64,256,1024");
  int reps = 5;
  int device = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string option = argv[i];
    if (option == "--sizes-mib") {
      sizes = parse_sizes(argv[i + 1]);
    } else if (option == "--reps") {
      reps = std::max(1, std::atoi(argv[i + 1]));
    } else if (option == "--device") {
      device = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: stload_h2d_probe [--sizes-mib LIST] [--reps N] [--device I]\n");
      return 2;
    }
  }
  if (sizes.empty()) {
    std::fprintf(stderr, "--sizes-mib needs positive sizes\n");
    return 2;
  }
  int driver = 0;
  int runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  std::string results;
  std::string name;
  void* target = nullptr;
  cudaStream_t stream = nullptr;
  cudaEvent_t start_event = nullptr;
  cudaEvent_t stop_event = nullptr;
  int status = 0;
  std::string error;
  try {
    check(cudaSetDevice(device), "cudaSetDevice");
    cudaDeviceProp props{};
    check(cudaGetDeviceProperties(&props, device), "cudaGetDeviceProperties");
    name = props.name;
    const std::size_t largest = *std::max_element(sizes.begin(), sizes.end());
    check(cudaMalloc(&target, largest), "cudaMalloc");
    check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
    check(cudaEventCreate(&start_event), "cudaEventCreate");
    check(cudaEventCreate(&stop_event), "cudaEventCreate");
    for (const char* kind : {"pinned", "pageable", "registered"}) {
      for (const std::size_t bytes : sizes) {
        const HostBuffer host(kind, bytes);
        check(cudaMemcpyAsync(target, host.data(), bytes, cudaMemcpyHostToDevice, stream),
              "warm-up copy");
        check(cudaStreamSynchronize(stream), "warm-up sync");
        std::vector<double> wall;
        std::vector<double> events;
        for (int r = 0; r < reps; ++r) {
          const auto begin = Clock::now();
          check(cudaEventRecord(start_event, stream), "cudaEventRecord");
          check(cudaMemcpyAsync(target, host.data(), bytes, cudaMemcpyHostToDevice, stream),
                "copy");
          check(cudaEventRecord(stop_event, stream), "cudaEventRecord");
          check(cudaStreamSynchronize(stream), "sync");
          wall.push_back(seconds_since(begin));
          float ms = 0;
          check(cudaEventElapsedTime(&ms, start_event, stop_event), "cudaEventElapsedTime");
          events.push_back(static_cast<double>(ms) / 1e3);
        }
        std::sort(wall.begin(), wall.end());
        std::sort(events.begin(), events.end());
        const double median = wall[wall.size() / 2];
        const double gbps = static_cast<double>(bytes) / median / 1e9;
        std::fprintf(stderr, "%-10s %6zu MiB  %8.3f GB/s (setup %.3f s)\n", kind, bytes >> 20U,
                     gbps, host.setup_seconds());
        char line[512];
        std::snprintf(line, sizeof line,
                      "%s{\"kind\":\"%s\",\"bytes\":%zu,\"reps\":%d,\"seconds\":%.6f,"
                      "\"seconds_min\":%.6f,\"seconds_max\":%.6f,\"event_seconds\":%.6f,"
                      "\"gbps\":%.3f,\"setup_seconds\":%.6f}",
                      results.empty() ? "" : ",", kind, bytes, reps, median, wall.front(),
                      wall.back(), events[events.size() / 2], gbps, host.setup_seconds());
        results += line;
      }
    }
  } catch (const Failure& failure) {
    error = failure.message;
    std::fprintf(stderr, "stload_h2d_probe: %s\n", error.c_str());
    status = 1;
  }
  if (stop_event != nullptr) cudaEventDestroy(stop_event);
  if (start_event != nullptr) cudaEventDestroy(start_event);
  if (stream != nullptr) cudaStreamDestroy(stream);
  if (target != nullptr) cudaFree(target);
  std::printf(
      "{\"method\":\"h2d-probe\",\"device\":\"%s\",\"driver\":%d,\"runtime\":%d,\"error\":\"%s\","
      "\"results\":[%s]}\n",
      json_text(name).c_str(), driver, runtime, json_text(error).c_str(), results.c_str());
  return status;
}
