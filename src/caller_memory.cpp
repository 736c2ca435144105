#include "caller_memory.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <unordered_map>

#include "checkpoint_impl.hpp"
#include "cpu/file_view.hpp"
#include "detail/check.hpp"
#include "stload/dtype.hpp"

namespace stload::detail {
namespace {

// Memory the caller owns, seen as an arena. `release` (empty for a destination) runs once when
// the Buffer goes; an exception it throws is dropped, as destructors must not throw.
class CallerBuffer final : public Buffer {
 public:
  CallerBuffer(Device device, void* data, std::uint64_t bytes, std::function<void()> release)
      : device_(device),
        data_(static_cast<std::byte*>(data)),
        bytes_(bytes),
        release_(std::move(release)) {}
  CallerBuffer(const CallerBuffer&) = delete;
  CallerBuffer& operator=(const CallerBuffer&) = delete;
  ~CallerBuffer() override {
    if (!release_) return;
    try {
      release_();
    } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor cannot report it
    }
  }
  [[nodiscard]] std::byte* data() const noexcept override { return data_; }
  [[nodiscard]] std::uint64_t size() const noexcept override { return bytes_; }
  [[nodiscard]] Device device() const noexcept override { return device_; }

 private:
  Device device_;
  std::byte* data_;
  std::uint64_t bytes_;
  std::function<void()> release_;
};

std::string address(const void* data) {
  char text[2 + 2 * sizeof(std::uintptr_t) + 1];
  std::snprintf(text, sizeof(text), "0x%jx",
                static_cast<std::uintmax_t>(reinterpret_cast<std::uintptr_t>(data)));
  return text;
}

bool aligned(const void* data, std::uint64_t alignment) {
  return reinterpret_cast<std::uintptr_t>(data) % alignment == 0;
}

std::unique_ptr<Buffer> from_allocator(const ArenaAllocator& allocator, const ArenaPlan& arena) {
  CallerAllocation got = allocator(arena.bytes, kArenaAlignment);
  // Owned from here on: any error below hands the memory back. Allocating the wrapper is the one
  // thing that can fail before it owns the memory (new allocates before moving `release` in).
  std::unique_ptr<CallerBuffer> buffer;
  try {
    buffer =
        std::make_unique<CallerBuffer>(arena.device, got.data, arena.bytes, std::move(got.release));
  } catch (...) {
    if (got.release) got.release();
    throw;
  }
  STLOAD_EXPECT(got.data != nullptr || arena.bytes == 0, ErrorCode::OutOfMemory,
                "the allocator for " + arena.device.to_string() +
                    " returned no memory for an arena of " + std::to_string(arena.bytes) +
                    " bytes");
  STLOAD_EXPECT(aligned(got.data, kArenaAlignment), ErrorCode::InvalidArgument,
                "the allocator for " + arena.device.to_string() + " returned " + address(got.data) +
                    " for an arena of " + std::to_string(arena.bytes) +
                    " bytes, not aligned to the " + std::to_string(kArenaAlignment) +
                    " bytes asked for");
  return buffer;
}

}  // namespace

void check_caller_memory(const LoadPlan& plan, const Checkpoint& checkpoint,
                         const LoadOptions& options, const CopyEngine& engine) {
  for (const auto& [device, allocator] : options.allocators) {
    STLOAD_EXPECT(engine.serves(device), ErrorCode::InvalidArgument,
                  "an allocator is given for " + device.to_string() + ", which the " +
                      engine.name() + " engine does not have");
    STLOAD_EXPECT(static_cast<bool>(allocator), ErrorCode::InvalidArgument,
                  "the allocator given for " + device.to_string() + " is empty");
  }
  if (options.destinations.empty()) return;
  std::unordered_map<std::string_view, const PlannedTensor*> planned;
  for (const PlannedTensor& tensor : plan.tensors) planned.emplace(tensor.name, &tensor);
  for (const auto& [name, destination] : options.destinations) {
    const std::string what = "destination for tensor '" + name + "'";
    const auto found = planned.find(name);
    STLOAD_EXPECT(found != planned.end(), ErrorCode::InvalidArgument,
                  what + ": " +
                      (checkpoint.find(name) == nullptr ? "the checkpoint has no such tensor"
                                                        : "the load's filter leaves it out"));
    const PlannedTensor& tensor = *found->second;
    STLOAD_EXPECT(engine.serves(destination.device), ErrorCode::InvalidArgument,
                  what + " is on " + destination.device.to_string() + ", which the " +
                      engine.name() + " engine does not have");
    STLOAD_EXPECT(destination.bytes >= tensor.output.bytes, ErrorCode::InvalidArgument,
                  what + " has " + std::to_string(destination.bytes) + " bytes, the tensor needs " +
                      std::to_string(tensor.output.bytes));
    STLOAD_EXPECT(destination.data != nullptr || tensor.output.bytes == 0,
                  ErrorCode::InvalidArgument, what + " is a null pointer");
    const std::uint64_t element = std::max<std::uint64_t>(bit_size(tensor.output.dtype) / 8, 1);
    STLOAD_EXPECT(aligned(destination.data, element), ErrorCode::InvalidArgument,
                  what + " at " + address(destination.data) +
                      " is not aligned to its element size (" + std::to_string(element) +
                      " bytes, " + std::string(to_string(tensor.output.dtype)) + ")");
  }
}

std::vector<std::unique_ptr<Buffer>> allocate_arenas(const LoadPlan& plan,
                                                     const Checkpoint& checkpoint,
                                                     const LoadOptions& options,
                                                     CopyEngine& engine) {
  std::vector<const PlannedTensor*> own(plan.arenas.size(), nullptr);  // a destination's tensor
  for (const PlannedTensor& tensor : plan.tensors) {
    if (plan.arenas[tensor.arena].own) own[tensor.arena] = &tensor;
  }
  std::vector<std::unique_ptr<Buffer>> arenas;
  arenas.reserve(plan.arenas.size());
  for (std::size_t i = 0; i < plan.arenas.size(); ++i) {
    const ArenaPlan& arena = plan.arenas[i];
    if (arena.file_view) {
      arenas.push_back(std::make_unique<FileViewBuffer>(checkpoint.impl().mappings.at(arena.file),
                                                        arena.device));
      continue;
    }
    if (arena.own) {
      const auto destination =
          own[i] == nullptr ? options.destinations.end() : options.destinations.find(own[i]->name);
      STLOAD_EXPECT(destination != options.destinations.end(), ErrorCode::InvalidArgument,
                    "the plan has an arena of its own on " + arena.device.to_string() +
                        " for a tensor no destination names");
      arenas.push_back(std::make_unique<CallerBuffer>(arena.device, destination->second.data,
                                                      arena.bytes, nullptr));
      continue;
    }
    const auto allocator = options.allocators.find(arena.device);
    arenas.push_back(allocator != options.allocators.end()
                         ? from_allocator(allocator->second, arena)
                         : engine.allocate_arena(arena.device, arena.bytes));
  }
  return arenas;
}

}  // namespace stload::detail
