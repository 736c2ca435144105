#include "io/mapping_source.hpp"

#include <string>

#include "cpu/guarded_copy.hpp"
#include "detail/check.hpp"

namespace stload::detail {

namespace {

void expect_in_mapping(const MappedFile& file, std::uint64_t offset, std::uint64_t bytes) {
  STLOAD_EXPECT(offset <= file.size() && bytes <= file.size() - offset, ErrorCode::Io,
                file.path().string() + ": range at offset " + std::to_string(offset) +
                    " is past the end of the mapping");
}

void expect_survived(bool survived, const MappedFile& file, std::uint64_t offset) {
  STLOAD_EXPECT(survived, ErrorCode::Io,
                file.path().string() + ": range at offset " + std::to_string(offset) +
                    " vanished while being read (file truncated?)");
}

}  // namespace

void MappingSource::read(std::byte* out, std::uint64_t bytes, std::uint64_t offset,
                         bool streaming) {
  expect_in_mapping(file_, offset, bytes);
  expect_survived(guarded_copy(out, file_.bytes().data() + offset, bytes, streaming), file_,
                  offset);
}

bool MappingSource::read_in_place(std::uint64_t offset, std::uint64_t bytes,
                                  void (*use)(const std::byte* data, void* context) noexcept,
                                  void* context) {
  expect_in_mapping(file_, offset, bytes);
  struct Call {
    void (*use)(const std::byte*, void*) noexcept;
    const std::byte* data;
    void* context;
  } call{use, file_.bytes().data() + offset, context};
  expect_survived(guarded_call(
                      [](void* c) noexcept {
                        const auto& in_place = *static_cast<const Call*>(c);
                        in_place.use(in_place.data, in_place.context);
                      },
                      &call),
                  file_, offset);
  return true;
}

}  // namespace stload::detail
