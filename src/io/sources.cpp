#include <sys/stat.h>

#include <string>

#include "detail/check.hpp"
#include "io/direct_source.hpp"
#include "io/file_source.hpp"
#include "io/mapping_source.hpp"
#include "io/pread_source.hpp"

namespace stload::detail {
namespace {

// Auto reads a file from its mapping when more than this fraction of its data is cached, with
// O_DIRECT when less than the second is (cold), and with pread in between, where O_DIRECT would
// read again from the device what the cache holds. Partly cached files are not measured yet: the
// thresholds are a choice; the cold and warm ends are measured (see make_sources).
constexpr double kMmapWhenResident = 0.9;
constexpr double kDirectWhenResidentBelow = 0.1;

}  // namespace

std::unique_ptr<FileSource> make_source(const MappedFile& file, ReadMethod method,
                                        bool chosen_by_auto, SourceCounts& counts) {
  switch (method) {
    case ReadMethod::Mmap:
      ++counts.mmap;
      return std::make_unique<MappingSource>(file);
    case ReadMethod::Direct: {
      if (auto direct = DirectSource::open(file)) {
        ++counts.direct;
        return direct;
      }
      STLOAD_EXPECT(chosen_by_auto, ErrorCode::InvalidArgument,
                    file.path().string() +
                        ": its file system refuses O_DIRECT (open failed with EINVAL); read it "
                        "with pread or mmap instead (--read pread|mmap, ReadMethod::Pread|Mmap)");
      ++counts.direct_fallback;
      break;
    }
    case ReadMethod::Pread:
    case ReadMethod::Auto:
      break;
  }
  ++counts.pread;
  return std::make_unique<PreadSource>(file);
}

// A file that shrank since it was opened fails here, cleanly, naming the file (one truncated
// while the load runs fails in its source). Opening read headers with readahead off; streaming
// the data wants it on. Auto picks the read method per file: a streaming copy from the mapping is
// the fastest way out of the page cache (0.95-1.0x the memcpy ceiling against pread's 0.8x on the
// development VM), while a cold file is read fastest with O_DIRECT: copy phase 1.6-1.7 GB/s against
// pread's 0.6-0.7 and the mapping's 0.5-1.0 at 1 and 4 GiB on the development VM, 1.2-1.3x the
// `dd iflag=direct` ceiling (bench/cold_read.sh, bench/RESULTS.md "Cold reads").
std::vector<std::unique_ptr<FileSource>> make_sources(const Checkpoint::Impl& checkpoint,
                                                      const std::vector<std::uint64_t>& file_bytes,
                                                      ReadMethod method, SourceCounts& counts) {
  std::vector<std::unique_ptr<FileSource>> sources(file_bytes.size());
  for (std::size_t f = 0; f < file_bytes.size(); ++f) {
    if (file_bytes[f] == 0) continue;
    const FileInfo& info = checkpoint.files[f];
    const MappedFile& mapping = checkpoint.mappings[f];
    struct stat now {};
    STLOAD_EXPECT(::fstat(mapping.fd(), &now) == 0, ErrorCode::Io,
                  errno_message(info.path.string() + ": fstat"));
    STLOAD_EXPECT(static_cast<std::uint64_t>(now.st_size) >= info.size, ErrorCode::Io,
                  info.path.string() + ": the file is " + std::to_string(now.st_size) +
                      " bytes, but was " + std::to_string(info.size) +
                      " when the checkpoint was opened (truncated?)");
    ReadMethod chosen = method;
    if (method == ReadMethod::Auto) {
      const double resident =
          mapping.resident_fraction(info.data_offset, info.size - info.data_offset);
      chosen = resident > kMmapWhenResident          ? ReadMethod::Mmap
               : resident < kDirectWhenResidentBelow ? ReadMethod::Direct
                                                     : ReadMethod::Pread;
    }
    mapping.advise_sequential(info.data_offset, info.size - info.data_offset);
    sources[f] = make_source(mapping, chosen, method == ReadMethod::Auto, counts);
  }
  return sources;
}

}  // namespace stload::detail
