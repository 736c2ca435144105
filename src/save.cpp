#include "stload/save.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <numeric>
#include <utility>
#include <vector>

#include "detail/check.hpp"
#include "detail/json_text.hpp"
#include "detail/save_copying.hpp"

namespace stload {
namespace {

using detail::json_string;

constexpr std::size_t kWriteBlock = 8U << 20U;

std::uint64_t byte_size(const TensorSpec& t) {
  std::uint64_t elements = 1;
  for (const std::uint64_t d : t.shape) {
    STLOAD_EXPECT(!__builtin_mul_overflow(elements, d, &elements), ErrorCode::ValidationOverflow,
                  "tensor '" + t.name + "': shape overflows");
  }
  std::uint64_t bits = 0;
  STLOAD_EXPECT(!__builtin_mul_overflow(elements, std::uint64_t{bit_size(t.dtype)}, &bits),
                ErrorCode::ValidationOverflow, "tensor '" + t.name + "': shape overflows");
  STLOAD_EXPECT(bits % 8 == 0, ErrorCode::MisalignedSlice,
                "tensor '" + t.name + "': not a whole number of bytes");
  return bits / 8;
}

// A file descriptor that is closed (and its temporary file removed) unless committed.
class PendingFile {
 public:
  explicit PendingFile(std::filesystem::path target)
      : target_(std::move(target)), temp_(target_.string() + ".tmp-" + std::to_string(::getpid())) {
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    STLOAD_EXPECT(fd_ >= 0, ErrorCode::Io, detail::errno_message(temp_.string() + ": open"));
  }
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;
  ~PendingFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_.c_str());
  }

  void write(const void* data, std::size_t size) {
    const auto* p = static_cast<const char*>(data);
    while (size > 0) {
      const ssize_t n = ::write(fd_, p, size);
      if (n < 0 && errno == EINTR) continue;
      STLOAD_EXPECT(n > 0, ErrorCode::Io, detail::errno_message(temp_.string() + ": write"));
      p += n;
      size -= static_cast<std::size_t>(n);
    }
  }

  // Copies up to `size` bytes from `fd` at `offset` to the end of this file in the kernel.
  // Returns how many it copied: fewer than `size` (0 included) when the kernel cannot copy
  // between these files, so the caller writes the rest itself.
  std::uint64_t copy_from(int fd, std::uint64_t offset, std::uint64_t size) {
    std::uint64_t done = 0;
    while (done < size) {
      auto in = static_cast<off_t>(offset + done);
      const ssize_t n = ::copy_file_range(fd, &in, fd_, nullptr, size - done, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
                    errno == EBADF)) {
        return done;
      }
      STLOAD_EXPECT(n >= 0, ErrorCode::Io,
                    detail::errno_message(temp_.string() + ": copy_file_range"));
      STLOAD_EXPECT(n > 0, ErrorCode::Io,
                    temp_.string() + ": the source ended at offset " +
                        std::to_string(offset + done) + " (file truncated?)");
      done += static_cast<std::uint64_t>(n);
    }
    return done;
  }

  void commit() {
    STLOAD_EXPECT(::close(std::exchange(fd_, -1)) == 0, ErrorCode::Io,
                  detail::errno_message(temp_.string() + ": close"));
    STLOAD_EXPECT(::rename(temp_.c_str(), target_.c_str()) == 0, ErrorCode::Io,
                  detail::errno_message("rename to " + target_.string()));
    committed_ = true;
  }

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  int fd_ = -1;
  bool committed_ = false;
};

// The one writer: header, then each tensor in pieces, copied in the kernel from `sources` where
// given and possible, else filled into a block and written.
void write_file(const std::filesystem::path& path, std::span<const TensorSpec> tensors,
                const std::map<std::string, std::string>& metadata,
                std::span<const detail::FileBytes> sources, const TensorFill& fill,
                const std::function<void(std::size_t, std::uint64_t)>& written) {
  std::vector<std::size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto ba = bit_size(tensors[a].dtype);
    const auto bb = bit_size(tensors[b].dtype);
    return ba != bb ? ba > bb : tensors[a].name < tensors[b].name;
  });
  std::vector<std::string_view> names;
  names.reserve(tensors.size());
  for (const TensorSpec& t : tensors) names.emplace_back(t.name);
  std::sort(names.begin(), names.end());
  const auto dup = std::adjacent_find(names.begin(), names.end());
  STLOAD_EXPECT(dup == names.end(), ErrorCode::InvalidArgument,
                "tensor '" + std::string(*dup) + "' given twice");
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      header.append(first ? "" : ",").append(json_string(key)).append(":");
      header.append(json_string(value));
      first = false;
    }
    header += "}";
  }
  std::vector<std::uint64_t> sizes(tensors.size());
  std::uint64_t offset = 0;
  for (const std::size_t i : order) {
    const TensorSpec& t = tensors[i];
    STLOAD_EXPECT(t.name != "__metadata__", ErrorCode::InvalidArgument,
                  "a tensor may not be called __metadata__");
    sizes[i] = byte_size(t);
    header.append(header.size() > 1 ? "," : "").append(json_string(t.name));
    header.append(":{\"dtype\":\"").append(to_string(t.dtype)).append("\",\"shape\":[");
    for (std::size_t d = 0; d < t.shape.size(); ++d) {
      header.append(d ? "," : "").append(std::to_string(t.shape[d]));
    }
    header.append("],\"data_offsets\":[").append(std::to_string(offset)).append(",");
    header.append(std::to_string(offset + sizes[i])).append("]}");
    offset += sizes[i];
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');

  PendingFile file(path);
  const std::uint64_t n = header.size();
  std::byte prefix[8];
  for (unsigned i = 0; i < 8; ++i) prefix[i] = static_cast<std::byte>((n >> (8U * i)) & 0xFFU);
  file.write(prefix, sizeof prefix);
  file.write(header.data(), header.size());
  std::vector<std::byte> block;  // only when a piece is written through `fill`
  bool copying = !sources.empty();
  for (const std::size_t i : order) {
    for (std::uint64_t done = 0; done < sizes[i]; done += kWriteBlock) {
      const auto part =
          static_cast<std::size_t>(std::min<std::uint64_t>(kWriteBlock, sizes[i] - done));
      std::size_t copied = 0;
      // A source of fd -1 has no bytes to copy as they are (a strided tensor): `fill` writes it,
      // and the tensors after it are still copied.
      if (copying && sources[i].fd >= 0) {
        copied =
            static_cast<std::size_t>(file.copy_from(sources[i].fd, sources[i].offset + done, part));
        copying = copied == part;  // once refused, the rest goes through `fill`
      }
      if (copied < part) {
        block.resize(kWriteBlock);
        const auto rest = std::span(block.data(), part - copied);
        fill(i, done + copied, rest);
        file.write(rest.data(), rest.size());
      }
      if (written) written(i, part);
    }
  }
  file.commit();
}

}  // namespace

void save(const std::filesystem::path& path, std::span<const TensorSpec> tensors,
          const std::map<std::string, std::string>& metadata, const TensorFill& fill) {
  write_file(path, tensors, metadata, {}, fill, {});
}

void detail::save_copying(const std::filesystem::path& path, std::span<const TensorSpec> tensors,
                          const std::map<std::string, std::string>& metadata,
                          std::span<const FileBytes> sources, const TensorFill& fill,
                          const std::function<void(std::size_t, std::uint64_t)>& written) {
  STLOAD_EXPECT(sources.size() == tensors.size(), ErrorCode::InvalidArgument,
                "save_copying: one source per tensor");
  write_file(path, tensors, metadata, sources, fill, written);
}

void save(const std::filesystem::path& path, std::span<const TensorData> tensors,
          const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSpec> specs;
  specs.reserve(tensors.size());
  for (const TensorData& t : tensors) {
    specs.push_back(TensorSpec{t.name, t.dtype, t.shape});
    STLOAD_EXPECT(byte_size(specs.back()) == t.bytes.size(), ErrorCode::InvalidArgument,
                  "tensor '" + t.name + "': " + std::to_string(t.bytes.size()) +
                      " bytes given, dtype x shape needs " +
                      std::to_string(byte_size(specs.back())));
  }
  save(path, specs, metadata,
       [&](std::size_t index, std::uint64_t offset, std::span<std::byte> out) {
         std::copy_n(tensors[index].bytes.begin() + static_cast<std::ptrdiff_t>(offset), out.size(),
                     out.begin());
       });
}

void save(const std::filesystem::path& path, const LoadedModel& model,
          const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSpec> specs;
  for (const TensorView& t : model.tensors()) specs.push_back(TensorSpec{t.name, t.dtype, t.shape});
  // One whole tensor is read back at a time; blocks of it are handed to the writer.
  std::size_t cached = static_cast<std::size_t>(-1);
  std::vector<std::byte> host;
  save(path, specs, metadata,
       [&](std::size_t index, std::uint64_t offset, std::span<std::byte> out) {
         if (cached != index) {
           const TensorView& view = model.tensors()[index];
           host.resize(view.bytes);
           model.read(view, host);
           cached = index;
         }
         std::copy_n(host.begin() + static_cast<std::ptrdiff_t>(offset), out.size(), out.begin());
       });
}

}  // namespace stload
