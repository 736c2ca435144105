#include "io/mapping_source.hpp"

#include <string>

#include "cpu/guarded_copy.hpp"
#include "detail/check.hpp"

namespace stload::detail {

void MappingSource::read(std::byte* out, std::uint64_t bytes, std::uint64_t offset,
                         bool streaming) {
  STLOAD_EXPECT(offset <= file_.size() && bytes <= file_.size() - offset, ErrorCode::Io,
                file_.path().string() + ": range at offset " + std::to_string(offset) +
                    " is past the end of the mapping");
  STLOAD_EXPECT(guarded_copy(out, file_.bytes().data() + offset, bytes, streaming), ErrorCode::Io,
                file_.path().string() + ": range at offset " + std::to_string(offset) +
                    " vanished while being read (file truncated?)");
}

}  // namespace stload::detail
