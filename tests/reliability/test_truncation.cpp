// A checkpoint truncated by someone else while it loads: whichever way the bytes are read, staged
// or direct, copied or converted to another dtype on the way, the load fails with Io naming the
// file, and the process survives (with mmap, touching a page past the new end of file raises
// SIGBUS, which the guarded copy turns into that error).

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csetjmp>
#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include "cpu/guarded_copy.hpp"
#include "reliability_support.hpp"
#include "stload/checkpoint.hpp"
#include "stload/loader.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"

namespace stload {
namespace {

namespace fs = std::filesystem;
using testing::make_safetensors;
using testing::pattern_bytes;
using testing::TempDir;
using testing::TestTensor;
using testing::throws_error;

constexpr std::size_t kChunk = 1U << 20U;

// 16 tensors of 1 MiB: 16 chunks, so most of the file is still unread after the first one. BF16
// ones when they are to be converted.
fs::path write_checkpoint(const TempDir& dir, bool bf16 = false) {
  std::vector<TestTensor> tensors;
  for (std::uint32_t i = 0; i < 16; ++i) {
    if (bf16) {
      tensors.push_back({"t" + std::to_string(i), "BF16", {kChunk / 2}, pattern_bytes(kChunk, i)});
    } else {
      tensors.push_back({"t" + std::to_string(i), "U8", {kChunk}, pattern_bytes(kChunk, i)});
    }
  }
  return dir.write("model.safetensors", make_safetensors(tensors));
}

LoadOptions options_for(ReadMethod method, std::size_t reader_threads) {
  LoadOptions options;
  options.engine = EngineKind::Cpu;
  options.read_method = method;
  options.chunk_bytes = kChunk;
  options.staging_bytes = 4 * kChunk;
  options.reader_threads = reader_threads;
  return options;
}

class TruncatedWhileLoading
    : public ::testing::TestWithParam<std::tuple<ReadMethod, std::size_t, bool, bool>> {};

TEST_P(TruncatedWhileLoading, fails_with_io_naming_the_file) {
  const auto [method, readers, direct, converting] = GetParam();
  STLOAD_SKIP_IF_NO_O_DIRECT(method);
  TempDir dir;
  const fs::path path = write_checkpoint(dir, converting);
  const Checkpoint ckpt = Checkpoint::open(path);
  const std::uint64_t data_offset = ckpt.files()[0].data_offset;

  LoadOptions options = options_for(method, readers);
  options.direct = direct;
  if (converting) options.dtype.floats = Dtype::F32;
  bool truncated = false;
  options.progress = [&](const Progress&) {
    if (!truncated) {
      // Another writer cuts the file back to its header: every later chunk is gone.
      fs::resize_file(path, data_offset);
      truncated = true;
    }
    return true;
  };
  EXPECT_TRUE(throws_error([&] { (void)load(ckpt, options); }, ErrorCode::Io, {path.string()}));
  EXPECT_TRUE(truncated) << "the progress callback never ran";
}

INSTANTIATE_TEST_SUITE_P(EveryReadMethod, TruncatedWhileLoading,
                         ::testing::Combine(::testing::Values(ReadMethod::Pread, ReadMethod::Mmap,
                                                              ReadMethod::Direct),
                                            ::testing::Values(std::size_t{1}, std::size_t{2}),
                                            ::testing::Bool(), ::testing::Bool()),
                         [](const auto& param_info) {
                           return testing::read_method_name(std::get<0>(param_info.param)) +
                                  "_readers_" + std::to_string(std::get<1>(param_info.param)) +
                                  (std::get<2>(param_info.param) ? "_direct" : "_staged") +
                                  (std::get<3>(param_info.param) ? "_converting" : "");
                         });

TEST(TruncatedBeforeLoading, mmap_load_of_a_file_truncated_after_open_is_io) {
  TempDir dir;
  const fs::path path = write_checkpoint(dir);
  const Checkpoint ckpt = Checkpoint::open(path);
  fs::resize_file(path, ckpt.files()[0].data_offset + 100);
  EXPECT_TRUE(throws_error([&] { (void)load(ckpt, options_for(ReadMethod::Mmap, 2)); },
                           ErrorCode::Io, {path.string()}));
}

// A mapping of a file that is then cut to nothing: every byte of it faults.
class VanishedMapping {
 public:
  explicit VanishedMapping(const TempDir& dir) {
    const fs::path path = dir.write("gone.bin", pattern_bytes(kSize, 3));
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    map_ = ::mmap(nullptr, kSize, PROT_READ, MAP_SHARED, fd_, 0);
    fs::resize_file(path, 0);
  }
  VanishedMapping(const VanishedMapping&) = delete;
  VanishedMapping& operator=(const VanishedMapping&) = delete;
  ~VanishedMapping() {
    if (map_ != MAP_FAILED) ::munmap(map_, kSize);
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] bool ok() const { return fd_ >= 0 && map_ != MAP_FAILED; }
  [[nodiscard]] const void* data() const { return map_; }
  static constexpr std::size_t kSize = 64 * 1024;

 private:
  int fd_ = -1;
  void* map_ = MAP_FAILED;
};

TEST(GuardedCopy, copies_like_memcpy) {
  const auto source = pattern_bytes(10'000, 9);
  std::vector<std::byte> out(source.size());
  ASSERT_TRUE(detail::guarded_copy(out.data(), source.data(), source.size()));
  EXPECT_EQ(out, source);
}

TEST(GuardedCopy, returns_false_on_a_vanished_mapping_and_keeps_working) {
  TempDir dir;
  const VanishedMapping gone(dir);
  ASSERT_TRUE(gone.ok());
  std::vector<std::byte> out(VanishedMapping::kSize);
  // Twice: the handler must leave SIGBUS unblocked and itself installed after a fault.
  EXPECT_FALSE(detail::guarded_copy(out.data(), gone.data(), out.size()));
  EXPECT_FALSE(detail::guarded_copy(out.data(), gone.data(), out.size()));
  const auto source = pattern_bytes(4096, 1);
  EXPECT_TRUE(detail::guarded_copy(out.data(), source.data(), source.size()));
}

// The guard around any reader (a dtype conversion reading the mapping in place): a fault ends the
// work with false, the work done before it stays done, and the guard keeps working after.
TEST(GuardedCall, returns_false_when_its_work_faults_and_true_otherwise) {
  TempDir dir;
  const VanishedMapping gone(dir);
  ASSERT_TRUE(gone.ok());
  struct Work {
    const volatile unsigned char* read;
    int before_fault = 0;
    int after_fault = 0;
  } work{static_cast<const volatile unsigned char*>(gone.data())};
  const auto touch = [](void* context) noexcept {
    auto& w = *static_cast<Work*>(context);
    ++w.before_fault;
    (void)*w.read;
    ++w.after_fault;
  };
  EXPECT_FALSE(detail::guarded_call(touch, &work));
  EXPECT_EQ(work.before_fault, 1);
  EXPECT_EQ(work.after_fault, 0) << "the work went on past the fault";
  const auto source = pattern_bytes(64, 2);
  work.read = reinterpret_cast<const volatile unsigned char*>(source.data());
  EXPECT_TRUE(detail::guarded_call(touch, &work));
  EXPECT_EQ(work.after_fault, 1);
}

sigjmp_buf previous_handler_jump;
volatile std::sig_atomic_t previous_handler_ran = 0;
void previous_handler(int /*signal*/) {
  previous_handler_ran = 1;
  siglongjmp(previous_handler_jump, 1);
}

// In a fresh process (threadsafe death tests re-execute the binary), a handler installed before the
// guard's first use: exit 0 when the guard caught its own fault and passed the other one on.
void guard_then_unguarded_fault(const void* gone) {
  struct sigaction mine {};
  mine.sa_handler = previous_handler;
  sigemptyset(&mine.sa_mask);
  if (::sigaction(SIGBUS, &mine, nullptr) != 0) ::_exit(10);
  std::byte out[64];
  if (detail::guarded_copy(out, gone, sizeof out)) ::_exit(11);
  if (previous_handler_ran != 0) ::_exit(12);
  if (sigsetjmp(previous_handler_jump, 1) == 0) {
    (void)*static_cast<const volatile unsigned char*>(gone);  // a fault outside the guard
    ::_exit(13);
  }
  ::_exit(previous_handler_ran == 1 ? 0 : 14);
}

TEST(GuardedCopyDeathTest, fault_outside_a_guarded_copy_reaches_the_previous_handler) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TempDir dir;
  const VanishedMapping gone(dir);
  ASSERT_TRUE(gone.ok());
  // 11: the guard missed its fault; 12: it let its fault through; 13: no signal; 14: not chained.
  EXPECT_EXIT(guard_then_unguarded_fault(gone.data()), ::testing::ExitedWithCode(0), "");
}

void guard_then_fault_with_default_action(const void* gone) {
  struct sigaction fallback {};
  fallback.sa_handler = SIG_DFL;
  sigemptyset(&fallback.sa_mask);
  ::sigaction(SIGBUS, &fallback, nullptr);
  std::byte out[64];
  if (detail::guarded_copy(out, gone, sizeof out)) ::_exit(11);
  (void)*static_cast<const volatile unsigned char*>(gone);
  ::_exit(12);
}

TEST(GuardedCopyDeathTest, fault_outside_a_guarded_copy_still_kills_by_default) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TempDir dir;
  const VanishedMapping gone(dir);
  ASSERT_TRUE(gone.ok());
  EXPECT_EXIT(guard_then_fault_with_default_action(gone.data()), ::testing::KilledBySignal(SIGBUS),
              "");
}

}  // namespace
}  // namespace stload
