#include "support/torch_writer.hpp"

#include <bit>
#include <cstring>

namespace stload::testing {
namespace {

void put_le(std::string& out, std::uint64_t v, std::size_t width) {
  for (std::size_t i = 0; i < width; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

}  // namespace

void patch_le(std::string& bytes, std::size_t at, std::uint64_t value, std::size_t width) {
  for (std::size_t i = 0; i < width; ++i)
    bytes[at + i] = static_cast<char>((value >> (8 * i)) & 0xFF);
}

PickleWriter& PickleWriter::proto(int version) {
  out_.push_back(static_cast<char>(0x80));
  out_.push_back(static_cast<char>(version));
  return *this;
}
PickleWriter& PickleWriter::op(char opcode) {
  out_.push_back(opcode);
  return *this;
}
PickleWriter& PickleWriter::op(unsigned char opcode) {
  out_.push_back(static_cast<char>(opcode));
  return *this;
}
PickleWriter& PickleWriter::str(std::string_view s) {
  out_.push_back('X');
  put_le(out_, s.size(), 4);
  out_.append(s);
  return *this;
}
PickleWriter& PickleWriter::bytes(std::string_view s) {
  if (s.size() < 256) {
    out_.push_back('C');
    put_le(out_, s.size(), 1);
  } else {
    out_.push_back('B');
    put_le(out_, s.size(), 4);
  }
  out_.append(s);
  return *this;
}
PickleWriter& PickleWriter::integer(std::int64_t v) {
  if (v >= 0 && v < 256) {
    out_.push_back('K');
    put_le(out_, static_cast<std::uint64_t>(v), 1);
  } else if (v >= INT32_MIN && v <= INT32_MAX) {
    out_.push_back('J');
    put_le(out_, static_cast<std::uint32_t>(static_cast<std::int32_t>(v)), 4);
  } else {
    out_.push_back(static_cast<char>(0x8a));
    out_.push_back(8);
    put_le(out_, static_cast<std::uint64_t>(v), 8);
  }
  return *this;
}
PickleWriter& PickleWriter::real(double v) {
  out_.push_back('G');
  const auto bits = std::bit_cast<std::uint64_t>(v);
  for (int i = 7; i >= 0; --i) out_.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
  return *this;
}
PickleWriter& PickleWriter::global(std::string_view module, std::string_view name) {
  out_.push_back('c');
  out_.append(module);
  out_.push_back('\n');
  out_.append(name);
  out_.push_back('\n');
  return *this;
}
PickleWriter& PickleWriter::stack_global(std::string_view module, std::string_view name) {
  str(module);
  str(name);
  return op(static_cast<unsigned char>(0x93));
}
PickleWriter& PickleWriter::put(std::uint32_t key) {
  out_.push_back('r');
  put_le(out_, key, 4);
  return *this;
}
PickleWriter& PickleWriter::get(std::uint32_t key) {
  out_.push_back('j');
  put_le(out_, key, 4);
  return *this;
}
PickleWriter& PickleWriter::raw(std::string_view b) {
  out_.append(b);
  return *this;
}
PickleWriter& PickleWriter::le32(std::uint32_t v) {
  put_le(out_, v, 4);
  return *this;
}
PickleWriter& PickleWriter::le64(std::uint64_t v) {
  put_le(out_, v, 8);
  return *this;
}
PickleWriter& PickleWriter::stop() {
  return op('.');
}

PickleWriter& PickleWriter::ordered_dict() {
  return global("collections", "OrderedDict").op(')').op('R');
}
PickleWriter& PickleWriter::dims(const std::vector<std::uint64_t>& v) {
  op('(');
  for (const std::uint64_t d : v) integer(static_cast<std::int64_t>(d));
  return op('t');
}
PickleWriter& PickleWriter::tensor_v2(std::string_view storage_type, std::string_view key,
                                      std::uint64_t numel, std::uint64_t offset,
                                      const std::vector<std::uint64_t>& shape,
                                      const std::vector<std::uint64_t>& stride) {
  global("torch._utils", "_rebuild_tensor_v2").op('(');
  op('(').str("storage").global("torch", storage_type).str(key).str("cpu");
  integer(static_cast<std::int64_t>(numel)).op('t').op('Q');
  integer(static_cast<std::int64_t>(offset)).dims(shape).dims(stride);
  op(static_cast<unsigned char>(0x89)).ordered_dict();
  return op('t').op('R');
}
PickleWriter& PickleWriter::parameter_v2(std::string_view storage_type, std::string_view key,
                                         std::uint64_t numel, std::uint64_t offset,
                                         const std::vector<std::uint64_t>& shape,
                                         const std::vector<std::uint64_t>& stride) {
  global("torch._utils", "_rebuild_parameter").op('(');
  tensor_v2(storage_type, key, numel, offset, shape, stride);
  op(static_cast<unsigned char>(0x88)).ordered_dict();
  return op('t').op('R');
}

std::vector<std::uint64_t> row_major(const std::vector<std::uint64_t>& shape) {
  std::vector<std::uint64_t> stride(shape.size());
  std::uint64_t s = 1;
  for (std::size_t d = shape.size(); d-- > 0;) {
    stride[d] = s;
    s *= shape[d];
  }
  return stride;
}

ZipImage write_zip(const std::vector<ZipMember>& members, bool zip64) {
  ZipImage z;
  std::string& out = z.bytes;
  for (const ZipMember& m : members) {
    z.local_offsets.push_back(out.size());
    const std::size_t base = out.size() + 30 + m.name.size() + (zip64 ? 20 : 0);
    const std::size_t pad = m.pad_to > 1 ? (m.pad_to - (base + 4) % m.pad_to) % m.pad_to : 0;
    const std::size_t extra = (zip64 ? 20 : 0) + (m.pad_to > 1 ? 4 + pad : 0);
    put_le(out, 0x04034b50, 4);
    put_le(out, zip64 ? 45 : 20, 2);  // version needed
    put_le(out, 0, 2);                // flags
    put_le(out, m.method, 2);
    put_le(out, 0, 4);  // time, date
    put_le(out, 0, 4);  // crc (not checked by readers of stored torch archives)
    put_le(out, zip64 ? 0xFFFFFFFF : m.data.size(), 4);
    put_le(out, zip64 ? 0xFFFFFFFF : m.data.size(), 4);
    put_le(out, m.name.size(), 2);
    put_le(out, extra, 2);
    out.append(m.name);
    if (zip64) {
      put_le(out, 0x0001, 2);
      put_le(out, 16, 2);
      put_le(out, m.data.size(), 8);
      put_le(out, m.data.size(), 8);
    }
    if (m.pad_to > 1) {
      put_le(out, 0x4346, 2);  // "FB", the id PyTorchStreamWriter pads with
      put_le(out, pad, 2);
      out.append(pad, 'Z');
    }
    z.data_offsets.push_back(out.size());
    out.append(m.data);
  }
  z.central_offset = out.size();
  for (std::size_t i = 0; i < members.size(); ++i) {
    const ZipMember& m = members[i];
    z.central_offsets.push_back(out.size());
    put_le(out, 0x02014b50, 4);
    put_le(out, zip64 ? 45 : 20, 2);
    put_le(out, zip64 ? 45 : 20, 2);
    put_le(out, 0, 2);
    put_le(out, m.method, 2);
    put_le(out, 0, 4);
    put_le(out, 0, 4);
    put_le(out, zip64 ? 0xFFFFFFFF : m.data.size(), 4);
    put_le(out, zip64 ? 0xFFFFFFFF : m.data.size(), 4);
    put_le(out, m.name.size(), 2);
    put_le(out, zip64 ? 28 : 0, 2);
    put_le(out, 0, 2);  // comment
    put_le(out, 0, 2);  // disk
    put_le(out, 0, 2);
    put_le(out, 0, 4);
    put_le(out, zip64 ? 0xFFFFFFFF : z.local_offsets[i], 4);
    out.append(m.name);
    if (zip64) {
      put_le(out, 0x0001, 2);
      put_le(out, 24, 2);
      put_le(out, m.data.size(), 8);
      put_le(out, m.data.size(), 8);
      put_le(out, z.local_offsets[i], 8);
    }
  }
  const std::size_t central_size = out.size() - z.central_offset;
  if (zip64) {
    const std::size_t record = out.size();
    put_le(out, 0x06064b50, 4);
    put_le(out, 44, 8);
    put_le(out, 45, 2);
    put_le(out, 45, 2);
    put_le(out, 0, 4);
    put_le(out, 0, 4);
    put_le(out, members.size(), 8);
    put_le(out, members.size(), 8);
    put_le(out, central_size, 8);
    put_le(out, z.central_offset, 8);
    put_le(out, 0x07064b50, 4);
    put_le(out, 0, 4);
    put_le(out, record, 8);
    put_le(out, 1, 4);
  }
  z.end_offset = out.size();
  put_le(out, 0x06054b50, 4);
  put_le(out, 0, 2);
  put_le(out, 0, 2);
  put_le(out, zip64 ? 0xFFFF : members.size(), 2);
  put_le(out, zip64 ? 0xFFFF : members.size(), 2);
  put_le(out, zip64 ? 0xFFFFFFFF : central_size, 4);
  put_le(out, zip64 ? 0xFFFFFFFF : z.central_offset, 4);
  put_le(out, 0, 2);
  return z;
}

ZipImage write_torch_zip(const std::string& pickle,
                         const std::vector<std::pair<std::string, std::string>>& storages,
                         std::string_view byteorder, bool zip64) {
  std::vector<ZipMember> members;
  members.push_back({"archive/data.pkl", pickle});
  if (!byteorder.empty()) members.push_back({"archive/byteorder", std::string(byteorder)});
  for (const auto& [key, data] : storages) members.push_back({"archive/data/" + key, data});
  members.push_back({"archive/version", "3\n"});
  return write_zip(members, zip64);
}

}  // namespace stload::testing
