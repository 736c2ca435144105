// libFuzzer target: a zip archive read as a torch.save checkpoint. The directory reader, every
// stored entry's bytes, and the whole checkpoint mapping (data.pkl through the pickle reader to
// tensor records) must return or throw stload::Error, and every record must lie in the input.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "pt/torch_checkpoint.hpp"
#include "pt/zip_directory.hpp"
#include "stload/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const stload::detail::pt::ArchiveBytes archive(std::as_bytes(std::span(data, size)));
  try {
    const auto directory = stload::detail::pt::read_zip_directory(archive);
    for (const auto& entry : directory.entries()) {
      try {
        stload::detail::pt::check_stored(entry);
        // Stored entries lie inside the archive: the loader reads exactly these bytes.
        if (entry.data_offset > size || entry.size > size - entry.data_offset) std::abort();
        if (stload::detail::pt::stored_bytes(archive, entry).size() != entry.size) std::abort();
      } catch (const stload::Error&) {
      }
    }
  } catch (const stload::Error&) {
  }
  try {
    const auto checkpoint = stload::detail::pt::read_torch_checkpoint(archive);
    for (const auto& t : checkpoint.header.tensors) {
      // Records must stay inside the archive: the loader reads exactly these ranges.
      const std::uint64_t begin = checkpoint.header.data_offset + t.begin;
      if (t.end < t.begin || begin > size || t.end - t.begin > size - begin) std::abort();
    }
  } catch (const stload::Error&) {
  }
  return 0;
}
