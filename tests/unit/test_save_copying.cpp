// detail::save_copying: tensors copied file to file by the kernel, the same bytes as save()
// writes from memory; the fallback through `fill` where the kernel refuses; a source that ends
// early is an Io error and leaves no file.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "detail/save_copying.hpp"
#include "stload/checkpoint.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"
#include "support/throws_error.hpp"

namespace stload {
namespace {

namespace fs = std::filesystem;

std::vector<char> file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class Fd {
 public:
  explicit Fd(const fs::path& p) : fd_(::open(p.c_str(), O_RDONLY | O_CLOEXEC)) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { ::close(fd_); }
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

struct Source {
  testing::TempDir dir;
  std::vector<std::byte> bytes = testing::pattern_bytes((9U << 20U) + 5, 3);  // two pieces
  fs::path raw = dir.write("raw.bin", bytes);
  std::vector<TensorSpec> specs{{"a", Dtype::U8, {bytes.size() - 5}}, {"b", Dtype::U8, {5}}};
  std::vector<TensorData> data{
      {"a", Dtype::U8, {bytes.size() - 5}, std::span(bytes).first(bytes.size() - 5)},
      {"b", Dtype::U8, {5}, std::span(bytes).last(5)}};
};

TEST(SaveCopying, kernel_copies_make_the_file_save_makes_from_memory) {
  const Source s;
  const Fd fd(s.raw);
  const fs::path copied = s.dir.path() / "copied.safetensors";
  const fs::path saved = s.dir.path() / "saved.safetensors";
  std::uint64_t progress = 0;
  const std::vector<detail::FileBytes> sources{{fd.get(), 0}, {fd.get(), s.bytes.size() - 5}};
  detail::save_copying(
      copied, s.specs, {{"format", "pt"}}, sources,
      [](std::size_t, std::uint64_t, std::span<std::byte>) { FAIL() << "fill called"; },
      [&](std::size_t, std::uint64_t n) { progress += n; });
  save(saved, s.data, {{"format", "pt"}});
  EXPECT_EQ(progress, s.bytes.size());
  EXPECT_EQ(file_bytes(copied), file_bytes(saved));
}

TEST(SaveCopying, where_the_kernel_refuses_the_bytes_come_through_fill) {
  const Source s;
  const fs::path out = s.dir.path() / "filled.safetensors";
  const fs::path saved = s.dir.path() / "saved.safetensors";
  // fd -1: copy_file_range fails with EBADF, as it fails between unsupported files.
  const std::vector<detail::FileBytes> sources{{-1, 0}, {-1, 0}};
  std::uint64_t filled = 0;
  detail::save_copying(out, s.specs, {}, sources,
                       [&](std::size_t i, std::uint64_t offset, std::span<std::byte> piece) {
                         std::copy_n(s.data[i].bytes.begin() + static_cast<std::ptrdiff_t>(offset),
                                     piece.size(), piece.begin());
                         filled += piece.size();
                       },
                       {});
  save(saved, s.data);
  EXPECT_EQ(filled, s.bytes.size());
  EXPECT_EQ(file_bytes(out), file_bytes(saved));
}

TEST(SaveCopying, a_source_that_ends_early_is_io_and_leaves_no_file) {
  const Source s;
  const fs::path short_file = s.dir.write("short.bin", std::span(s.bytes).first(100));
  const Fd fd(short_file);
  const fs::path out = s.dir.path() / "out.safetensors";
  const std::vector<detail::FileBytes> sources{{fd.get(), 0}, {fd.get(), 0}};
  EXPECT_TRUE(testing::throws_error(
      [&] {
        detail::save_copying(out, s.specs, {}, sources,
                             [](std::size_t, std::uint64_t, std::span<std::byte>) {}, {});
      },
      ErrorCode::Io, {"truncated"}));
  EXPECT_FALSE(fs::exists(out));
  for (const auto& e : fs::directory_iterator(s.dir.path())) {
    EXPECT_EQ(e.path().string().find(".tmp-"), std::string::npos) << e.path();
  }
}

}  // namespace
}  // namespace stload
