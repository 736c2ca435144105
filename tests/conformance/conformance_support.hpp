#pragma once
// Checkpoint builders and checks shared by the conformance suites (CPU and CUDA).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "stload/stload.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"

namespace stload {

/// gtest prints devices as "cuda:0" rather than as raw bytes.
inline void PrintTo(const Device& device, std::ostream* out) {
  *out << device.to_string();
}

}  // namespace stload

namespace stload::conformance {

inline constexpr std::uint64_t kKiB = 1024;
inline constexpr std::uint64_t kMiB = 1024 * kKiB;

/// The options the typed suites load with: `map` given, small chunks and staging (so even small
/// checkpoints cycle the staging ring), two readers, then the configuration's own settings.
template <class Config>
LoadOptions suite_options(DeviceMap map) {
  LoadOptions options;
  options.device_map = std::move(map);
  options.device_map_given = true;
  options.chunk_bytes = 64 * kKiB;
  options.staging_bytes = 256 * kKiB;
  options.reader_threads = 2;
  Config::configure(options);
  return options;
}

/// A tensor of `dtype` and `shape` filled with seeded pattern bytes.
inline stload::testing::TestTensor make_tensor(std::string name, Dtype dtype,
                                               std::vector<std::uint64_t> shape,
                                               std::uint32_t seed) {
  std::uint64_t elements = 1;
  for (const std::uint64_t d : shape) elements *= d;
  const std::uint64_t bytes = elements * bit_size(dtype) / 8;
  return {std::move(name), std::string(to_string(dtype)), std::move(shape),
          stload::testing::pattern_bytes(static_cast<std::size_t>(bytes), seed)};
}

/// `count` U8 tensors `prefix0`, `prefix1`, ... of `bytes` each.
inline std::vector<stload::testing::TestTensor> u8_tensors(std::string_view prefix,
                                                           std::size_t count, std::uint64_t bytes) {
  std::vector<stload::testing::TestTensor> out;
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back(make_tensor(std::string(prefix) + std::to_string(i), Dtype::U8, {bytes},
                              static_cast<std::uint32_t>(100 + i)));
  }
  return out;
}

/// A file holding `small` followed by a U8 tensor "big" of `big_bytes` whose data is a hole, so
/// a tensor larger than any device costs no disk space.
inline std::filesystem::path write_sparse(const std::filesystem::path& path,
                                          const stload::testing::TestTensor& small,
                                          std::uint64_t big_bytes) {
  const std::uint64_t n = small.data.size();
  std::string header =
      "{" + stload::testing::json_quote(small.name) + ":{\"dtype\":\"" + small.dtype +
      "\",\"shape\":[" + std::to_string(n) + "],\"data_offsets\":[0," + std::to_string(n) +
      "]},\"big\":{\"dtype\":\"U8\",\"shape\":[" + std::to_string(big_bytes) +
      "],\"data_offsets\":[" + std::to_string(n) + "," + std::to_string(n + big_bytes) + "]}}";
  header.append((8 - header.size() % 8) % 8, ' ');
  auto bytes = stload::testing::make_raw_with_length(header.size(), header, 0);
  bytes.insert(bytes.end(), small.data.begin(), small.data.end());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  std::filesystem::resize_file(path, bytes.size() + big_bytes);
  return path;
}

/// The Error `f` throws, or nullopt when it throws none.
template <class F>
std::optional<Error> error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

/// Success when `error` is set, has `code`, and its message holds every one of `parts`.
inline ::testing::AssertionResult is_error(const std::optional<Error>& error, ErrorCode code,
                                           std::initializer_list<std::string_view> parts = {}) {
  if (!error) return ::testing::AssertionFailure() << "no stload::Error was thrown";
  if (error->code() != code) {
    return ::testing::AssertionFailure() << "code " << to_string(error->code()) << ", expected "
                                         << to_string(code) << ": " << error->what();
  }
  const std::string_view message = error->what();
  for (const std::string_view part : parts) {
    if (message.find(part) == std::string_view::npos) {
      return ::testing::AssertionFailure()
             << "message \"" << message << "\" does not mention \"" << part << "\"";
    }
  }
  return ::testing::AssertionSuccess();
}

/// Every tensor of `model` has its checkpoint record's dtype, shape and size, sits on a 256-byte
/// boundary, and reads back as exactly the file's bytes.
inline void expect_matches_file(const LoadedModel& model, const Checkpoint& checkpoint) {
  std::vector<std::byte> out;
  for (const TensorView& view : model.tensors()) {
    const TensorRecord* record = checkpoint.find(view.name);
    ASSERT_NE(record, nullptr) << view.name;
    EXPECT_EQ(view.dtype, record->info.dtype) << view.name;
    EXPECT_EQ(view.shape, record->info.shape) << view.name;
    ASSERT_EQ(view.bytes, record->bytes()) << view.name;
    if (view.data != nullptr) {
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(view.data) % kArenaAlignment, 0U) << view.name;
    } else {
      EXPECT_EQ(view.bytes, 0U) << view.name << " has bytes but no address";
    }
    out.assign(view.bytes, std::byte{0xA5});
    model.read(view, out);
    const auto expected = checkpoint.tensor_bytes(*record);
    ASSERT_TRUE(std::equal(out.begin(), out.end(), expected.begin(), expected.end()))
        << view.name << ": bytes read back differ from the file's";
  }
}

/// The device each loaded tensor landed on, by name.
inline std::optional<Device> device_of(const LoadedModel& model, std::string_view name) {
  const TensorView* view = model.find(name);
  if (view == nullptr) return std::nullopt;
  return view->device;
}

}  // namespace stload::conformance
