// The CPU ceiling a loader is measured against, on the same file in the same run, plus the page
// cache chores of the compare runner (one small C++ tool, so the runner needs no ctypes):
//
//   stload_ceiling cpu FILE [--threads N] [--read mmap|pread]
//       memcpy of the file's data section from its page-cache mapping into memory pre-faulted
//       outside the timed region (as cudaMalloc'd memory would be). N threads copy one slice each.
//       Also times the pre-fault itself (N threads, one slice each, as stload's arenas are faulted
//       in), so end-to-end figures can be compared too.
//       --read pread: pread(2) in 16 MiB blocks instead; from a cold cache page faults on a mapping
//       read ahead less than large preads do, so this is the cold-cache ceiling.
//   stload_ceiling resident FILE...   fraction of each file's pages in the page cache (mincore)
//   stload_ceiling evict FILE...      posix_fadvise(DONTNEED), then the resident fraction again
//
// Each prints one JSON object per line on stdout.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

double seconds_of(const auto& body) {
  const auto start = std::chrono::steady_clock::now();
  body();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// An fd that closes itself; -1 when the open failed (perror already said why).
class File {
 public:
  explicit File(const char* path) : fd_(::open(path, O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) std::perror(path);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] std::size_t size() const {
    struct stat info {};
    return ::fstat(fd_, &info) == 0 ? static_cast<std::size_t>(info.st_size) : 0;
  }

 private:
  int fd_;
};

class Mapping {
 public:
  Mapping(std::size_t bytes, int prot, int flags, int fd)
      : bytes_(std::max<std::size_t>(bytes, 1)),
        data_(::mmap(nullptr, bytes_, prot, flags, fd, 0)) {}
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (ok()) ::munmap(data_, bytes_);
  }
  [[nodiscard]] bool ok() const { return data_ != MAP_FAILED; }
  [[nodiscard]] char* data() const { return static_cast<char*>(data_); }

 private:
  std::size_t bytes_;
  void* data_;
};

// Faults in fresh anonymous memory for writing (MADV_POPULATE_WRITE, Linux 5.14; else a touch of
// every page).
void populate(char* begin, std::size_t bytes) {
#ifdef MADV_POPULATE_WRITE
  if (::madvise(begin, bytes, MADV_POPULATE_WRITE) == 0) return;
#endif
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  for (std::size_t at = 0; at < bytes; at += page) static_cast<volatile char*>(begin)[at] = 0;
}

// Pages of the file in the page cache over all pages; -1 when it cannot tell.
double resident_fraction(const File& file) {
  const std::size_t size = file.size();
  if (size == 0) return 1.0;
  const Mapping mapping(size, PROT_READ, MAP_SHARED, file.fd());
  if (!mapping.ok()) return -1.0;
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> pages((size + page - 1) / page);
  if (::mincore(mapping.data(), size, pages.data()) != 0) return -1.0;
  const auto in_cache =
      std::count_if(pages.begin(), pages.end(), [](unsigned char p) { return (p & 1U) != 0; });
  return static_cast<double>(in_cache) / static_cast<double>(pages.size());
}

int cpu_ceiling(const char* path, unsigned threads, bool use_pread) {
  const File file(path);
  if (file.fd() < 0) return 2;
  const std::size_t size = file.size();
  std::uint64_t header = 0;
  if (::pread(file.fd(), &header, 8, 0) != 8 || header > size || 8 + header > size) {
    std::fprintf(stderr, "%s: not a safetensors file\n", path);
    return 1;
  }
  const std::size_t data_offset = 8 + header;
  const std::size_t bytes = size - data_offset;
  const double resident = resident_fraction(file);

  threads = std::max(1U, threads);
  // Slices split on 2 MiB boundaries so no two threads share a huge page of the destination.
  const std::size_t slice = ((bytes / threads + (2U << 20U) - 1) >> 21U) << 21U;
  std::unique_ptr<Mapping> destination;
  const double prefault_seconds = seconds_of([&] {
    destination =
        std::make_unique<Mapping>(bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    if (!destination->ok()) return;
    std::vector<std::jthread> workers;
    for (unsigned i = 0; i < threads; ++i) {
      const std::size_t begin = std::min(bytes, i * slice);
      const std::size_t end = i + 1 == threads ? bytes : std::min(bytes, begin + slice);
      if (end <= begin) continue;
      workers.emplace_back([&, begin, end] { populate(destination->data() + begin, end - begin); });
    }
  });
  const Mapping source(size, PROT_READ, MAP_SHARED, file.fd());
  if (!destination->ok() || !source.ok()) {
    std::perror("mmap");
    return 1;
  }
  const double copy_seconds = seconds_of([&] {
    std::vector<std::jthread> workers;
    for (unsigned i = 0; i < threads; ++i) {
      const std::size_t begin = std::min(bytes, i * slice);
      const std::size_t end = i + 1 == threads ? bytes : std::min(bytes, begin + slice);
      if (end <= begin) continue;
      workers.emplace_back([&, begin, end] {
        if (!use_pread) {
          std::memcpy(destination->data() + begin, source.data() + data_offset + begin,
                      end - begin);
          return;
        }
        constexpr std::size_t kBlock = 16U << 20U;
        for (std::size_t at = begin; at < end;) {
          const ssize_t got =
              ::pread(file.fd(), destination->data() + at, std::min(kBlock, end - at),
                      static_cast<off_t>(data_offset + at));
          if (got <= 0) {
            std::perror("pread");
            std::exit(1);
          }
          at += static_cast<std::size_t>(got);
        }
      });
    }
  });
  // Checks a byte of the last page so the copy cannot be elided.
  const auto last =
      bytes ? static_cast<unsigned>(static_cast<unsigned char>(destination->data()[bytes - 1]))
            : 0U;
  std::printf(
      "{\"method\":\"ceiling-cpu-%s\",\"threads\":%u,\"bytes\":%zu,\"resident_before\":%.4f,"
      "\"prefault_seconds\":%.6f,\"copy_seconds\":%.6f,\"seconds\":%.6f,\"gbps\":%.3f,\"last_"
      "byte\":%u}\n",
      use_pread ? "pread" : "memcpy", threads, bytes, resident, prefault_seconds, copy_seconds,
      prefault_seconds + copy_seconds, static_cast<double>(bytes) / copy_seconds / 1e9, last);
  return 0;
}

int residency(int argc, char** argv, bool evict) {
  int status = 0;
  for (int i = 2; i < argc; ++i) {
    const File file(argv[i]);
    if (file.fd() < 0) {
      status = 2;
      continue;
    }
    const double before = resident_fraction(file);
    double after = before;
    if (evict) {
      ::fdatasync(file.fd());  // dirty pages are not dropped
      ::posix_fadvise(file.fd(), 0, 0, POSIX_FADV_DONTNEED);
      after = resident_fraction(file);
    }
    std::string escaped;
    for (const char c : std::string(argv[i])) {
      if (c == '"' || c == '\\') escaped += '\\';
      escaped += c;
    }
    std::printf(
        "{\"path\":\"%s\",\"bytes\":%zu,\"resident_before\":%.4f,\"resident_after\":%.4f}\n",
        escaped.c_str(), file.size(), before, after);
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "cpu" && argc >= 3 && argc % 2 == 1) {
    unsigned threads = 1;
    bool use_pread = false;
    for (int i = 3; i + 1 < argc; i += 2) {
      const std::string option = argv[i];
      const std::string value = argv[i + 1];
      if (option == "--threads") {
        threads = static_cast<unsigned>(std::stoul(value));
      } else if (option == "--read" && (value == "mmap" || value == "pread")) {
        use_pread = value == "pread";
      } else {
        std::fprintf(stderr, "unknown option %s %s\n", option.c_str(), value.c_str());
        return 2;
      }
    }
    return cpu_ceiling(argv[2], threads, use_pread);
  }
  if ((mode == "resident" || mode == "evict") && argc > 2)
    return residency(argc, argv, mode == "evict");
  std::fprintf(stderr,
               "usage: stload_ceiling cpu FILE [--threads N] [--read mmap|pread] | resident "
               "FILE... | evict FILE...\n");
  return 2;
}
