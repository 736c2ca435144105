// Faults injected into a load: an I/O error or a short read at the Nth read (through the
// pipeline's pread seam), a failed arena, staging or session allocation and a failed copy or wait
// (through the CountingEngine wrapper), a cancel from the progress callback. Each must end the load
// with one stload::Error of the right code, and leave nothing behind: no live buffer, no open
// session, no extra file descriptor or thread; and the same engine must load correctly afterwards.

#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "conformance/conformance_support.hpp"
#include "io/direct_source.hpp"
#include "pipeline.hpp"
#include "reliability_support.hpp"
#include "support/counting_engine.hpp"

namespace stload {
namespace {

using conformance::error_of;
using conformance::expect_matches_file;
using conformance::is_error;
using conformance::kKiB;
using stload::testing::CountingEngine;
using stload::testing::Faults;

// Entries of a /proc/self directory: open descriptors (fd) or threads (task).
std::size_t count_entries(const char* directory) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(directory)) ++n;
  return n;
}

// The injected pread's state. Tests run one at a time, and loads read it from reader threads.
std::atomic<int> pread_calls{0};
std::atomic<int> pread_fault_at{0};

ssize_t pread_failing_at_n(int fd, void* buffer, std::size_t bytes, off_t offset) {
  if (pread_calls.fetch_add(1) + 1 == pread_fault_at.load()) {
    errno = EIO;
    return -1;
  }
  return ::pread(fd, buffer, bytes, offset);
}

// The Nth read returns half of what was asked; every read after it finds the end of the file.
ssize_t pread_short_then_eof_at_n(int fd, void* buffer, std::size_t bytes, off_t offset) {
  const int n = pread_calls.fetch_add(1) + 1;
  const int at = pread_fault_at.load();
  if (n > at) return 0;
  if (n == at) return ::pread(fd, buffer, bytes / 2, offset);
  return ::pread(fd, buffer, bytes, offset);
}

// Every read returns at most 1000 bytes, as pread may: the loader must keep reading.
ssize_t pread_always_short(int fd, void* buffer, std::size_t bytes, off_t offset) {
  pread_calls.fetch_add(1);
  return ::pread(fd, buffer, std::min<std::size_t>(bytes, 1000), offset);
}

// O_DIRECT takes only aligned lengths, so the fakes below read what was asked and then report
// less, as a device may: the source must resume (on a block boundary) or see the end of the file.

// The Nth read reports half of what it read; every read after it finds the end of the file.
ssize_t pread_reports_short_then_eof_at_n(int fd, void* buffer, std::size_t bytes, off_t offset) {
  const int n = pread_calls.fetch_add(1) + 1;
  const int at = pread_fault_at.load();
  if (n > at) return 0;
  const ssize_t got = ::pread(fd, buffer, bytes, offset);
  return n == at && got > 0 ? got / 2 : got;
}

// Every read reports at most 5000 bytes, a block and a part of one: the source must resume from
// the partial block (O_DIRECT cannot start mid-block) and keep reading. (A read that reports less
// than a block and no progress past it is, to the source, the end of the file.)
ssize_t pread_reports_always_short(int fd, void* buffer, std::size_t bytes, off_t offset) {
  pread_calls.fetch_add(1);
  const ssize_t got = ::pread(fd, buffer, bytes, offset);
  return got > 0 ? std::min<ssize_t>(got, 5000) : got;
}

// The injected open(2) of the O_DIRECT source: a file system that refuses O_DIRECT.
int open_refusing_o_direct(const char* /*path*/, int /*flags*/) {
  errno = EINVAL;
  return -1;
}

class RefuseODirect {
 public:
  RefuseODirect() { detail::set_open_for_testing(&open_refusing_o_direct); }
  RefuseODirect(const RefuseODirect&) = delete;
  RefuseODirect& operator=(const RefuseODirect&) = delete;
  ~RefuseODirect() { detail::set_open_for_testing(nullptr); }
};

// Installs an injected pread for one scope.
class PreadHook {
 public:
  PreadHook(detail::PreadFunction function, int fault_at) {
    pread_calls.store(0);
    pread_fault_at.store(fault_at);
    detail::set_pread_for_testing(function);
  }
  PreadHook(const PreadHook&) = delete;
  PreadHook& operator=(const PreadHook&) = delete;
  ~PreadHook() { detail::set_pread_for_testing(nullptr); }
};

struct FaultCase {
  std::string name;
  Faults engine_faults;
  detail::PreadFunction pread = nullptr;
  int pread_fault_at = 0;
  int cancel_at = 0;  // progress call that returns false; 0: never
  ErrorCode code = ErrorCode::Io;
  std::string message;  // a part the error's message must hold
  ReadMethod method = ReadMethod::Pread;
};

void PrintTo(const FaultCase& fault, std::ostream* out) {
  *out << fault.name;
}

class FaultInjection : public ::testing::TestWithParam<FaultCase> {
 protected:
  void SetUp() override {
    STLOAD_SKIP_IF_NO_O_DIRECT(GetParam().method);
    path_ =
        dir_.write("model.safetensors",
                   stload::testing::make_safetensors(conformance::u8_tensors("t", 16, 64 * kKiB)));
    checkpoint_.emplace(Checkpoint::open(path_));
  }

  // Two arenas (cpu:0, and cpu:1 for t3) and a staging ring: allocations 1 and 2 are arenas, 3
  // is staging. 16 chunks through 4 slots, so copies wait on reused slots.
  static LoadOptions options() {
    LoadOptions options;
    options.read_method = GetParam().method;
    options.device_map =
        DeviceMap::from_rules({{"", Device{}}, {"t3", Device{DeviceKind::Cpu, 1}}});
    options.direct = false;
    options.chunk_bytes = 64 * kKiB;
    options.staging_bytes = 256 * kKiB;
    options.reader_threads = 2;
    options.streams = 2;
    return options;
  }

  stload::testing::TempDir dir_;
  std::filesystem::path path_;
  std::optional<Checkpoint> checkpoint_;
};

TEST_P(FaultInjection, fails_with_one_error_and_releases_everything) {
  const FaultCase& fault = GetParam();
  auto engine = std::make_shared<CountingEngine>(make_cpu_engine(), fault.engine_faults);
  LoadOptions options = this->options();
  std::atomic<int> progress_calls{0};
  options.progress = [&](const Progress&) {
    return progress_calls.fetch_add(1) + 1 != fault.cancel_at;
  };
  const std::size_t fds = count_entries("/proc/self/fd");
  const std::size_t threads = count_entries("/proc/self/task");

  std::optional<Error> error;
  {
    std::optional<PreadHook> hook;
    if (fault.pread != nullptr) hook.emplace(fault.pread, fault.pread_fault_at);
    error = error_of([&] { static_cast<void>(load(*checkpoint_, options, engine)); });
    if (fault.pread != nullptr) {
      EXPECT_GE(pread_calls.load(), fault.pread_fault_at) << "the fault was never reached";
    }
  }
  EXPECT_TRUE(is_error(error, fault.code, {fault.message}));
  EXPECT_EQ(engine->live_buffers(), 0) << "an arena or the staging ring outlived the load";
  EXPECT_EQ(engine->live_sessions(), 0) << "a copy session outlived the load";
  EXPECT_EQ(count_entries("/proc/self/fd"), fds) << "a file descriptor leaked";
  if (testing::kThreadsAreOurs) {
    EXPECT_EQ(count_entries("/proc/self/task"), threads) << "a reader or stream thread outlived it";
  }
  if (fault.cancel_at > 0) {
    EXPECT_EQ(progress_calls.load(), fault.cancel_at) << "called back after it cancelled";
    // Progress counts a staged chunk once its copy completed, so when the cancel is seen every
    // slot may hold a copy in flight; nothing more is started.
    const std::uint64_t slots = options.staging_bytes / options.chunk_bytes;
    EXPECT_LE(engine->copies(), static_cast<std::size_t>(fault.cancel_at + slots));
  }

  // The engine is left fit for use: the same load without the fault succeeds.
  // (Injected engine faults count calls over the engine's life: the Nth is behind us.)
  options.progress = nullptr;
  const LoadedModel model = load(*checkpoint_, options, engine);
  expect_matches_file(model, *checkpoint_);
}

const FaultCase kFaults[] = {
    {"io_error_at_the_first_read",
     {},
     &pread_failing_at_n,
     1,
     0,
     ErrorCode::Io,
     "Input/output error"},
    {"io_error_at_the_seventh_read",
     {},
     &pread_failing_at_n,
     7,
     0,
     ErrorCode::Io,
     "read at offset"},
    {"short_read_then_end_of_file_at_the_fifth_read",
     {},
     &pread_short_then_eof_at_n,
     5,
     0,
     ErrorCode::Io,
     "unexpected end of file"},
    {"first_arena_allocation_fails",
     {1, 0, 0, 0},
     nullptr,
     0,
     0,
     ErrorCode::OutOfMemory,
     CountingEngine::injected("allocation", 1)},
    {"second_arena_allocation_fails",
     {2, 0, 0, 0},
     nullptr,
     0,
     0,
     ErrorCode::OutOfMemory,
     CountingEngine::injected("allocation", 2)},
    {"staging_allocation_fails",
     {3, 0, 0, 0},
     nullptr,
     0,
     0,
     ErrorCode::OutOfMemory,
     CountingEngine::injected("allocation", 3)},
    {"copy_session_fails",
     {0, 0, 0, 1},
     nullptr,
     0,
     0,
     ErrorCode::OutOfMemory,
     CountingEngine::injected("session", 1)},
    {"first_copy_fails",
     {0, 1, 0, 0},
     nullptr,
     0,
     0,
     ErrorCode::Io,
     CountingEngine::injected("copy", 1)},
    {"tenth_copy_fails",
     {0, 10, 0, 0},
     nullptr,
     0,
     0,
     ErrorCode::Io,
     CountingEngine::injected("copy", 10)},
    {"a_wait_fails",
     {0, 0, 3, 0},
     nullptr,
     0,
     0,
     ErrorCode::Io,
     CountingEngine::injected("wait", 3)},
    {"cancel_at_the_first_progress_call", {}, nullptr, 0, 1, ErrorCode::Cancelled, "cancelled"},
    {"cancel_at_the_sixth_progress_call", {}, nullptr, 0, 6, ErrorCode::Cancelled, "cancelled"},
    // The O_DIRECT source (io/direct_source.hpp), through the same pread seam.
    {"o_direct_io_error_at_the_first_read",
     {},
     &pread_failing_at_n,
     1,
     0,
     ErrorCode::Io,
     "Input/output error",
     ReadMethod::Direct},
    {"o_direct_io_error_at_the_seventh_read",
     {},
     &pread_failing_at_n,
     7,
     0,
     ErrorCode::Io,
     "O_DIRECT read at offset",
     ReadMethod::Direct},
    {"o_direct_short_read_then_end_of_file_at_the_fifth_read",
     {},
     &pread_reports_short_then_eof_at_n,
     5,
     0,
     ErrorCode::Io,
     "unexpected end of file",
     ReadMethod::Direct},
    {"o_direct_staging_allocation_fails",
     {3, 0, 0, 0},
     nullptr,
     0,
     0,
     ErrorCode::OutOfMemory,
     CountingEngine::injected("allocation", 3),
     ReadMethod::Direct},
};

INSTANTIATE_TEST_SUITE_P(Reliability, FaultInjection, ::testing::ValuesIn(kFaults),
                         [](const ::testing::TestParamInfo<FaultCase>& param_info) {
                           return param_info.param.name;
                         });

TEST(FaultInjectionReads, short_reads_are_continued_and_load_the_files_bytes) {
  stload::testing::TempDir dir;
  const Checkpoint checkpoint = Checkpoint::open(
      dir.write("short.safetensors",
                stload::testing::make_safetensors(conformance::u8_tensors("t", 8, 10'000))));
  for (const bool direct : {false, true}) {
    LoadOptions options;
    options.direct = direct;
    options.read_method = ReadMethod::Pread;
    options.chunk_bytes = 16 * kKiB;
    options.staging_bytes = 64 * kKiB;
    const PreadHook hook(&pread_always_short, 0);
    const LoadedModel model = load(checkpoint, options, make_cpu_engine());
    EXPECT_GE(pread_calls.load(), 80) << "the short reads were not injected";
    expect_matches_file(model, checkpoint);
  }
}

TEST(FaultInjectionReads, io_error_in_direct_mode_names_the_file_and_releases_the_arena) {
  stload::testing::TempDir dir;
  const auto path =
      dir.write("direct.safetensors",
                stload::testing::make_safetensors(conformance::u8_tensors("t", 8, 64 * kKiB)));
  const Checkpoint checkpoint = Checkpoint::open(path);
  LoadOptions options;
  options.direct = true;
  options.read_method = ReadMethod::Pread;
  options.chunk_bytes = 64 * kKiB;
  options.staging_bytes = 256 * kKiB;
  auto engine = std::make_shared<CountingEngine>(make_cpu_engine());
  const PreadHook hook(&pread_failing_at_n, 4);
  EXPECT_TRUE(is_error(error_of([&] { static_cast<void>(load(checkpoint, options, engine)); }),
                       ErrorCode::Io, {path.string(), "Input/output error"}));
  EXPECT_EQ(engine->live_buffers(), 0);
  EXPECT_EQ(engine->sessions(), 0U) << "direct mode needs no copy session";
}

TEST(FaultInjectionReads, o_direct_short_reads_are_resumed_and_load_the_files_bytes) {
  STLOAD_SKIP_IF_NO_O_DIRECT(ReadMethod::Direct);
  stload::testing::TempDir dir;
  const auto path =
      dir.write("short.safetensors",
                stload::testing::make_safetensors(conformance::u8_tensors("t", 8, 10'000)));
  const Checkpoint checkpoint = Checkpoint::open(path);
  for (const bool direct : {false, true}) {
    LoadOptions options;
    options.direct = direct;
    options.read_method = ReadMethod::Direct;
    options.chunk_bytes = 16 * kKiB;
    options.staging_bytes = 64 * kKiB;
    LoadStats stats;
    const PreadHook hook(&pread_reports_always_short, 0);
    const LoadedModel model = load(checkpoint, options, make_cpu_engine(), &stats);
    EXPECT_GE(pread_calls.load(), 20) << "the short reads were not injected";
    EXPECT_EQ(stats.files_read_by_direct, 1U);
    expect_matches_file(model, checkpoint);
  }
}

TEST(FaultInjectionReads, o_direct_reads_the_unaligned_tail_at_the_end_of_the_file) {
  STLOAD_SKIP_IF_NO_O_DIRECT(ReadMethod::Direct);
  stload::testing::TempDir dir;
  // The last tensor ends at the end of the file, inside a block: its read asks for the whole
  // block and gets fewer bytes, which must be enough.
  const auto path =
      dir.write("tail.safetensors",
                stload::testing::make_safetensors(conformance::u8_tensors("t", 3, 5'001)));
  ASSERT_NE(std::filesystem::file_size(path) % 4096, 0U) << "the tail must be partial";
  const Checkpoint checkpoint = Checkpoint::open(path);
  for (const bool direct : {false, true}) {
    LoadOptions options;
    options.direct = direct;
    options.read_method = ReadMethod::Direct;
    const LoadedModel model = load(checkpoint, options, make_cpu_engine());
    expect_matches_file(model, checkpoint);
  }
}

TEST(FaultInjectionReads, o_direct_refused_by_the_file_system_is_invalid_argument_naming_it) {
  stload::testing::TempDir dir;
  const auto path =
      dir.write("refused.safetensors",
                stload::testing::make_safetensors(conformance::u8_tensors("t", 4, 64 * kKiB)));
  const Checkpoint checkpoint = Checkpoint::open(path);
  LoadOptions options;
  options.read_method = ReadMethod::Direct;
  auto engine = std::make_shared<CountingEngine>(make_cpu_engine());
  const std::size_t fds = count_entries("/proc/self/fd");
  {
    const RefuseODirect refuse;
    EXPECT_TRUE(is_error(error_of([&] { static_cast<void>(load(checkpoint, options, engine)); }),
                         ErrorCode::InvalidArgument, {path.string(), "O_DIRECT", "pread"}));
    // Auto picks O_DIRECT for a cold file, and pread instead where it is refused, counted.
    if (!stload::testing::evict_from_page_cache(path)) {
      GTEST_SKIP() << "could not evict " << path << " from the page cache (tmpfs?)";
    }
    options.read_method = ReadMethod::Auto;
    LoadStats stats;
    expect_matches_file(load(checkpoint, options, engine, &stats), checkpoint);
    EXPECT_EQ(stats.files_read_by_direct, 0U);
    EXPECT_EQ(stats.files_direct_fallback, 1U);
    EXPECT_EQ(stats.files_read_by_pread, 1U);
  }
  EXPECT_EQ(engine->live_buffers(), 0);
  EXPECT_EQ(count_entries("/proc/self/fd"), fds) << "a file descriptor leaked";
}

}  // namespace
}  // namespace stload
