// The zip directory of a torch.save archive: what it reads, and how forged archives fail.

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "pt/zip_directory.hpp"
#include "support/throws_error.hpp"
#include "support/torch_writer.hpp"

namespace stload {
namespace {

using detail::pt::read_zip_directory;
using detail::pt::stored_bytes;
using testing::patch_le;
using testing::throws_error;
using testing::write_zip;
using testing::ZipImage;
using testing::ZipMember;

detail::pt::ArchiveBytes span_of(const std::string& s) {
  return detail::pt::ArchiveBytes(std::as_bytes(std::span(s.data(), s.size())));
}

std::string as_string(const std::vector<std::byte>& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

ZipImage three_members(bool zip64 = false) {
  return write_zip({{"archive/data.pkl", "pickle bytes"},
                    {"archive/data/0", std::string(100, 'a')},
                    {"archive/data/1", std::string(8, 'b')}},
                   zip64);
}

TEST(ZipDirectory, reads_every_member_with_its_data_offset_and_size) {
  const ZipImage z = three_members();
  const auto dir = read_zip_directory(span_of(z.bytes));
  ASSERT_EQ(dir.entries().size(), 3U);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(dir.entries()[i].data_offset, z.data_offsets[i]);
    EXPECT_EQ(dir.entries()[i].header_offset, z.local_offsets[i]);
  }
  EXPECT_EQ(dir.at("archive/data/0").size, 100U);
  EXPECT_EQ(dir.at("archive/data/0").data_offset % 64, 0U);  // padded as torch pads
  EXPECT_EQ(as_string(stored_bytes(span_of(z.bytes), dir.at("archive/data/1"))), "bbbbbbbb");
  EXPECT_EQ(dir.find("archive/data/2"), nullptr);
  EXPECT_TRUE(throws_error([&] { (void)dir.at("archive/data/2"); }, ErrorCode::InvalidHeader,
                           {"archive/data/2"}));
}

TEST(ZipDirectory, zip64_end_records_and_extra_fields_are_followed) {
  const ZipImage z = three_members(true);
  const auto dir = read_zip_directory(span_of(z.bytes));
  ASSERT_EQ(dir.entries().size(), 3U);
  EXPECT_EQ(dir.at("archive/data/0").size, 100U);
  EXPECT_EQ(dir.at("archive/data/0").data_offset, z.data_offsets[1]);
  EXPECT_EQ(as_string(stored_bytes(span_of(z.bytes), dir.at("archive/data.pkl"))), "pickle bytes");
}

TEST(ZipDirectory, compressed_member_is_refused_naming_it_when_its_bytes_are_asked_for) {
  ZipMember bomb{"archive/data/0", std::string(64, 'x')};
  bomb.method = 8;  // deflate: inflating it could be a zip bomb, so it is never inflated
  const ZipImage z = write_zip({{"archive/data.pkl", "p"}, bomb});
  const auto dir = read_zip_directory(span_of(z.bytes));
  EXPECT_TRUE(throws_error([&] { (void)stored_bytes(span_of(z.bytes), dir.at("archive/data/0")); },
                           ErrorCode::InvalidHeader, {"archive/data/0", "compressed"}));
}

TEST(ZipDirectory, stored_member_larger_than_the_bytes_asked_for_is_refused_before_reading) {
  const ZipImage z = three_members();
  const auto dir = read_zip_directory(span_of(z.bytes));
  EXPECT_TRUE(
      throws_error([&] { (void)stored_bytes(span_of(z.bytes), dir.at("archive/data/0"), 99); },
                   ErrorCode::InvalidHeader, {"archive/data/0", "100 bytes, above the 99"}));
}

TEST(ZipDirectory, stored_member_claiming_a_larger_uncompressed_size_is_refused) {
  ZipImage z = three_members();
  patch_le(z.bytes, z.central_offsets[1] + 24, 1ULL << 31, 4);  // uncompressed size
  const auto dir = read_zip_directory(span_of(z.bytes));
  EXPECT_TRUE(throws_error([&] { (void)stored_bytes(span_of(z.bytes), dir.at("archive/data/0")); },
                           ErrorCode::InvalidHeader, {"archive/data/0", "sizes differ"}));
}

TEST(ZipDirectory, member_whose_data_runs_past_the_end_of_the_file_is_refused) {
  ZipImage z = three_members();
  patch_le(z.bytes, z.central_offsets[2] + 20, 1ULL << 30, 4);  // compressed size
  EXPECT_TRUE(throws_error([&] { (void)read_zip_directory(span_of(z.bytes)); },
                           ErrorCode::InvalidHeader, {"archive/data/1", "past the end"}));
}

TEST(ZipDirectory, member_whose_local_header_is_outside_the_file_is_refused) {
  ZipImage z = three_members();
  patch_le(z.bytes, z.central_offsets[0] + 42, 0xFFFFFFF0, 4);
  EXPECT_TRUE(throws_error([&] { (void)read_zip_directory(span_of(z.bytes)); },
                           ErrorCode::InvalidHeader, {"archive/data.pkl", "local header"}));
}

TEST(ZipDirectory, two_members_sharing_bytes_are_refused_as_overlapping) {
  ZipImage z = three_members();
  // Member 2's central record points at member 1's local header, renamed to match: its data
  // would be member 1's bytes read twice.
  const ZipImage again = write_zip({{"archive/data.pkl", "pickle bytes"},
                                    {"archive/data/0", std::string(100, 'a')},
                                    {"archive/data/0", std::string(8, 'b')}});
  std::string forged = again.bytes;
  patch_le(forged, again.central_offsets[2] + 42, again.local_offsets[1], 4);
  patch_le(forged, again.central_offsets[2] + 20, 100, 4);
  patch_le(forged, again.central_offsets[2] + 24, 100, 4);
  EXPECT_TRUE(throws_error([&] { (void)read_zip_directory(span_of(forged)); },
                           ErrorCode::InvalidHeader, {"archive/data/0"}));
  // A member whose size reaches into the next member's local header.
  patch_le(z.bytes, z.central_offsets[1] + 20, 101, 4);
  EXPECT_TRUE(throws_error([&] { (void)read_zip_directory(span_of(z.bytes)); },
                           ErrorCode::InvalidHeader, {"overlap"}));
}

TEST(ZipDirectory, two_members_with_one_name_are_refused) {
  const ZipImage z = write_zip({{"archive/data/0", "a"}, {"archive/data/0", "b"}});
  EXPECT_TRUE(throws_error([&] { (void)read_zip_directory(span_of(z.bytes)); },
                           ErrorCode::InvalidHeader, {"two entries named 'archive/data/0'"}));
}

TEST(ZipDirectory, local_header_naming_another_member_is_refused) {
  ZipImage z = three_members();
  z.bytes[z.local_offsets[1] + 30 + 13] = 'X';  // "archive/data/0" -> "archive/data/X"
  EXPECT_TRUE(throws_error([&] { (void)read_zip_directory(span_of(z.bytes)); },
                           ErrorCode::InvalidHeader, {"archive/data/0", "archive/data/X"}));
}

TEST(ZipDirectory, entry_count_larger_than_the_central_directory_holds_is_refused) {
  ZipImage z = three_members();
  patch_le(z.bytes, z.end_offset + 8, 0xFFFE, 2);
  patch_le(z.bytes, z.end_offset + 10, 0xFFFE, 2);
  EXPECT_TRUE(throws_error([&] { (void)read_zip_directory(span_of(z.bytes)); },
                           ErrorCode::InvalidHeader, {"65534 entries"}));
}

TEST(ZipDirectory, central_directory_outside_the_file_is_refused) {
  ZipImage z = three_members();
  patch_le(z.bytes, z.end_offset + 16, 0x7FFFFFFF, 4);
  EXPECT_TRUE(throws_error([&] { (void)read_zip_directory(span_of(z.bytes)); },
                           ErrorCode::InvalidHeader, {"central directory"}));
}

TEST(ZipDirectory, encrypted_and_multi_disk_archives_are_refused) {
  ZipImage z = three_members();
  std::string encrypted = z.bytes;
  patch_le(encrypted, z.central_offsets[1] + 8, 1, 2);
  EXPECT_TRUE(throws_error([&] { (void)read_zip_directory(span_of(encrypted)); },
                           ErrorCode::InvalidHeader, {"archive/data/0", "encrypted"}));
  patch_le(z.bytes, z.end_offset + 4, 1, 2);
  EXPECT_TRUE(throws_error([&] { (void)read_zip_directory(span_of(z.bytes)); },
                           ErrorCode::InvalidHeader, {"multi-disk"}));
}

TEST(ZipDirectory, every_truncation_of_an_archive_is_refused_cleanly) {
  for (const bool zip64 : {false, true}) {
    const ZipImage z = three_members(zip64);
    for (std::size_t n = 0; n < z.bytes.size(); ++n) {
      const std::string cut = z.bytes.substr(0, n);
      EXPECT_TRUE(
          throws_error([&] { (void)read_zip_directory(span_of(cut)); }, ErrorCode::InvalidHeader))
          << "truncated to " << n << " of " << z.bytes.size() << " bytes";
    }
  }
}

TEST(ZipDirectory, truncated_central_directory_is_refused) {
  ZipImage z = three_members();
  // The end record claims one more entry than the directory's bytes describe.
  patch_le(z.bytes, z.end_offset + 12, z.end_offset - z.central_offset - 10, 4);
  EXPECT_TRUE(throws_error([&] { (void)read_zip_directory(span_of(z.bytes)); },
                           ErrorCode::InvalidHeader, {"truncated"}));
}

}  // namespace
}  // namespace stload
