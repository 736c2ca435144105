// Opening a checkpoint reads its headers and nothing else: a 100k-tensor header is handled whole,
// and no page of a data section is brought into the page cache by Checkpoint::open.

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "stload/checkpoint.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"

namespace stload {
namespace {

using testing::make_safetensors;
using testing::TempDir;
using testing::TestTensor;

std::string tensor_name(std::size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "layers.%06zu.weight", i);
  return buf;
}

TEST(CheckpointScale, opens_a_hundred_thousand_tensor_checkpoint) {
  constexpr std::size_t kTensors = 100'000;
  std::vector<TestTensor> tensors;
  tensors.reserve(kTensors);
  for (std::size_t i = 0; i < kTensors; ++i) {
    // Two bytes each, distinct per tensor, so a lookup landing on the wrong record shows.
    tensors.push_back(
        {tensor_name(i),
         "U8",
         {2},
         {static_cast<std::byte>(i & 0xFFU), static_cast<std::byte>((i >> 8U) & 0xFFU)}});
  }
  TempDir dir;
  const auto path = dir.write("many.safetensors", make_safetensors(tensors));

  const Checkpoint ckpt = Checkpoint::open(path);
  ASSERT_EQ(ckpt.tensors().size(), kTensors);
  EXPECT_EQ(ckpt.total_bytes(), 2 * kTensors);
  for (std::size_t i = 0; i < kTensors; ++i) {
    const TensorRecord* record = ckpt.find(tensors[i].name);
    ASSERT_NE(record, nullptr) << tensors[i].name;
    ASSERT_EQ(record->info.name, tensors[i].name);
    ASSERT_EQ(record->info.begin, 2 * i);  // written in order, so offsets follow the index
    const auto bytes = ckpt.tensor_bytes(*record);
    ASSERT_EQ(bytes.size(), 2U);
    ASSERT_EQ(bytes[0], tensors[i].data[0]) << tensors[i].name;
    ASSERT_EQ(bytes[1], tensors[i].data[1]) << tensors[i].name;
  }
  EXPECT_EQ(ckpt.find(tensor_name(kTensors)), nullptr);
  EXPECT_EQ(&ckpt.at(tensor_name(54'321)), &ckpt.tensors()[54'321]);
}

// Bytes this process has read through read/pread (rchar of /proc/self/io), whatever the file
// system.
std::uint64_t bytes_read_by_syscalls() {
  std::ifstream io("/proc/self/io");
  std::string key;
  std::uint64_t value = 0;
  while (io >> key >> value) {
    if (key == "rchar:") return value;
  }
  return UINT64_MAX;
}

// Resident kB of this process's mappings of `path` (Rss in /proc/self/smaps): the pages touched
// through a mapping, the page cache notwithstanding. -1 when no mapping of it exists.
long long mapped_rss_kb(const std::filesystem::path& path) {
  std::ifstream smaps("/proc/self/smaps");
  const std::string name = std::filesystem::canonical(path).string();
  std::string line;
  bool inside = false;
  long long total = -1;
  while (std::getline(smaps, line)) {
    // "start-end perms offset dev inode path" heads each mapping; "Key: value" lines follow it.
    const std::string first = line.substr(0, line.find(' '));
    const bool is_mapping_line = first.find('-') != std::string::npos && !first.ends_with(':');
    if (is_mapping_line) {
      inside = line.size() >= name.size() &&
               line.compare(line.size() - name.size(), name.size(), name) == 0;
      if (inside && total < 0) total = 0;
    } else if (inside && line.rfind("Rss:", 0) == 0) {
      std::istringstream fields(line.substr(4));
      long long kb = 0;
      fields >> kb;
      total += kb;
    }
  }
  return total;
}

TEST(CheckpointScale, opening_a_hundred_thousand_tensors_reads_only_the_header) {
  // 100k tensors of 4 KiB over a sparse 400 MB data section: a reader that touched any tensor
  // (through read or through the mapping) would show in rchar or in the mapping's resident pages.
  constexpr std::size_t kTensors = 100'000;
  constexpr std::uint64_t kTensorBytes = 4096;
  std::string header = "{";
  for (std::size_t i = 0; i < kTensors; ++i) {
    if (i != 0) header += ',';
    header += "\"" + tensor_name(i) + "\":{\"dtype\":\"F32\",\"shape\":[1024],\"data_offsets\":[" +
              std::to_string(i * kTensorBytes) + "," + std::to_string((i + 1) * kTensorBytes) +
              "]}";
  }
  header += "}";
  TempDir dir;
  const auto path = dir.path() / "sparse.safetensors";
  {
    std::ofstream out(path, std::ios::binary);
    const std::uint64_t n = header.size();
    for (unsigned shift = 0; shift < 64; shift += 8)
      out.put(static_cast<char>((n >> shift) & 0xFF));
    out << header;
  }
  const std::uint64_t header_end = 8 + header.size();
  std::filesystem::resize_file(path, header_end + kTensors * kTensorBytes);

  const std::uint64_t read_before = bytes_read_by_syscalls();
  ASSERT_NE(read_before, UINT64_MAX) << "no rchar in /proc/self/io";
  const Checkpoint ckpt = Checkpoint::open(path);
  const std::uint64_t read_during = bytes_read_by_syscalls() - read_before;
  const long long touched_kb = mapped_rss_kb(path);

  ASSERT_EQ(ckpt.tensors().size(), kTensors);
  EXPECT_EQ(ckpt.total_bytes(), kTensors * kTensorBytes);
  // The header, read once (its 8-byte prefix twice), plus /proc/self/io itself.
  EXPECT_LE(read_during, header_end + 8 + 4096) << "header is " << header_end << " bytes";
  EXPECT_GE(read_during, header_end) << "the header must have been read with read/pread";
  ASSERT_GE(touched_kb, 0) << "the checkpoint does not map " << path;
  EXPECT_EQ(touched_kb, 0) << "Checkpoint::open touched mapped pages of " << path;
}

// Page-cache residency of a file, seen through a private, never-touched mapping of it.
class Residency {
 public:
  explicit Residency(const std::filesystem::path& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    size_ = static_cast<std::size_t>(std::filesystem::file_size(path));
    map_ = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
  }
  Residency(const Residency&) = delete;
  Residency& operator=(const Residency&) = delete;
  ~Residency() {
    if (map_ != MAP_FAILED) ::munmap(map_, size_);
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] bool ok() const { return fd_ >= 0 && map_ != MAP_FAILED; }

  // Writes the file back and asks the kernel to drop its pages.
  void drop() const {
    ::fsync(fd_);
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_DONTNEED);
  }

  // The resident pages at index >= `first_page`, as page indices.
  [[nodiscard]] std::vector<std::size_t> resident_from(std::size_t first_page) const {
    const std::size_t page = page_size();
    std::vector<unsigned char> vec((size_ + page - 1) / page);
    if (::mincore(map_, size_, vec.data()) != 0) return {static_cast<std::size_t>(-1)};
    std::vector<std::size_t> resident;
    for (std::size_t i = first_page; i < vec.size(); ++i) {
      if ((vec[i] & 1U) != 0) resident.push_back(i);
    }
    return resident;
  }

  static std::size_t page_size() { return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)); }

 private:
  int fd_ = -1;
  void* map_ = MAP_FAILED;
  std::size_t size_ = 0;
};

std::string describe(const std::vector<std::size_t>& pages) {
  std::string out = std::to_string(pages.size()) + " resident page(s), first:";
  for (std::size_t i = 0; i < pages.size() && i < 8; ++i) out += " " + std::to_string(pages[i]);
  return out;
}

TEST(CheckpointScale, open_reads_no_page_of_the_data_section) {
  constexpr std::size_t kDataBytes = 64U << 20U;
  TempDir dir;
  // A small header (well under one page) and one large tensor: any readahead past the header's
  // page would bring in data pages.
  const auto bytes = make_safetensors(
      {{"small", "U8", {8}, std::vector<std::byte>(8, std::byte{1})},
       {"big", "U8", {kDataBytes}, std::vector<std::byte>(kDataBytes, std::byte{0x5A})}});
  const auto path = dir.write("big.safetensors", bytes);

  const Residency residency(path);
  ASSERT_TRUE(residency.ok());
  residency.drop();
  if (const auto before = residency.resident_from(0); !before.empty()) {
    GTEST_SKIP() << "this file system keeps the file cached after POSIX_FADV_DONTNEED ("
                 << describe(before) << "); residency cannot be observed here";
  }

  const Checkpoint ckpt = Checkpoint::open(path);
  ASSERT_EQ(ckpt.tensors().size(), 2U);
  // The header's own pages (bytes [0, data_offset)) are read; nothing after them may be.
  const std::uint64_t header_end = ckpt.files()[0].data_offset;
  const std::size_t first_data_only_page =
      static_cast<std::size_t>((header_end + Residency::page_size() - 1) / Residency::page_size());
  EXPECT_LT(header_end, Residency::page_size()) << "the test wants a header within one page";
  const auto after = residency.resident_from(first_data_only_page);
  EXPECT_TRUE(after.empty()) << "Checkpoint::open brought data pages into the page cache: "
                             << describe(after);
}

}  // namespace
}  // namespace stload
