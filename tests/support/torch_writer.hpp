#pragma once
// Builds PyTorch checkpoints byte by byte for tests: pickles opcode by opcode (hostile ones
// included) and zip archives laid out as torch.save lays them out, with the offsets recorded so a
// test can forge any field. No checked-in binaries are needed for the attacks.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stload::testing {

/// Appends pickle opcodes. Each method writes one opcode (and its argument).
class PickleWriter {
 public:
  PickleWriter& proto(int version = 2);
  PickleWriter& op(char opcode);  ///< a bare opcode: '(' MARK, 't' TUPLE, 'R' REDUCE, ...
  PickleWriter& op(unsigned char opcode);
  PickleWriter& str(std::string_view s);    ///< BINUNICODE
  PickleWriter& bytes(std::string_view s);  ///< SHORT_BINBYTES / BINBYTES
  PickleWriter& integer(std::int64_t v);    ///< BININT1 / BININT / LONG1
  PickleWriter& real(double v);             ///< BINFLOAT
  PickleWriter& global(std::string_view module, std::string_view name);        ///< GLOBAL
  PickleWriter& stack_global(std::string_view module, std::string_view name);  ///< STACK_GLOBAL
  PickleWriter& put(std::uint32_t key);                                        ///< LONG_BINPUT
  PickleWriter& get(std::uint32_t key);                                        ///< LONG_BINGET
  PickleWriter& raw(std::string_view b);  ///< bytes as they are (a forged length, ...)
  PickleWriter& le32(std::uint32_t v);
  PickleWriter& le64(std::uint64_t v);
  PickleWriter& stop();

  /// collections.OrderedDict() — an empty OrderedDict, as torch writes backward hooks.
  PickleWriter& ordered_dict();
  /// A tuple of ints.
  PickleWriter& dims(const std::vector<std::uint64_t>& v);
  /// A whole _rebuild_tensor_v2 call, its storage named by persistent id.
  PickleWriter& tensor_v2(std::string_view storage_type, std::string_view key, std::uint64_t numel,
                          std::uint64_t offset, const std::vector<std::uint64_t>& shape,
                          const std::vector<std::uint64_t>& stride);
  /// The same wrapped in _rebuild_parameter, as nn.Parameter is saved.
  PickleWriter& parameter_v2(std::string_view storage_type, std::string_view key,
                             std::uint64_t numel, std::uint64_t offset,
                             const std::vector<std::uint64_t>& shape,
                             const std::vector<std::uint64_t>& stride);

  [[nodiscard]] const std::string& data() const noexcept { return out_; }

 private:
  std::string out_;
};

/// The row-major strides of a shape.
[[nodiscard]] std::vector<std::uint64_t> row_major(const std::vector<std::uint64_t>& shape);

struct ZipMember {
  std::string name;
  std::string data;
  std::uint16_t method = 0;   ///< written into the headers as is; the data is never compressed
  std::uint16_t pad_to = 64;  ///< local extra field pads the data to this alignment (torch: 64)
};

struct ZipImage {
  std::string bytes;
  std::vector<std::size_t> local_offsets;    ///< each member's local header
  std::vector<std::size_t> data_offsets;     ///< each member's data
  std::vector<std::size_t> central_offsets;  ///< each member's central record
  std::size_t central_offset = 0;            ///< where the central directory starts
  std::size_t end_offset = 0;                ///< the (32-bit) end record
};

/// A zip archive of stored members; `zip64` writes zip64 end records and extra fields as
/// PyTorchStreamWriter does for large archives.
[[nodiscard]] ZipImage write_zip(const std::vector<ZipMember>& members, bool zip64 = false);

/// A torch.save-style archive: archive/data.pkl, archive/byteorder, archive/data/<key>...,
/// archive/version.
[[nodiscard]] ZipImage write_torch_zip(
    const std::string& pickle, const std::vector<std::pair<std::string, std::string>>& storages,
    std::string_view byteorder = "little", bool zip64 = false);

/// Overwrites `width` little-endian bytes at `at`.
void patch_le(std::string& bytes, std::size_t at, std::uint64_t value, std::size_t width);

}  // namespace stload::testing
