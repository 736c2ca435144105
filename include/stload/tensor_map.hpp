#pragma once
/// @file tensor_map.hpp
/// @brief LoadedModel: the loaded tensors and the arenas that hold them.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stload/dtype.hpp"
#include "stload/placement.hpp"

namespace stload {

class CopyEngine;
class Buffer;

/// @brief A loaded tensor. `data` is a device pointer for GPU tensors.
struct TensorView {
  std::string name;  ///< the checkpoint's name for it
  Device device;     ///< where `data` lives
  /// aligned to 256 bytes (to the element size in a caller's LoadOptions::destinations);
  /// nullptr only for zero-byte tensors in an empty arena
  void* data = nullptr;
  Dtype dtype = Dtype::U8;           ///< element type
  std::vector<std::uint64_t> shape;  ///< dimensions, row-major and compact; empty for a scalar
  std::uint64_t bytes = 0;           ///< size of the data
};

/// @brief Owns the arenas of one load. Copies share ownership: memory is freed when the last copy
/// (or the last DLPack tensor exported from it) goes away.
///
/// Thread safety: the const members (tensors(), find(), at(), read()) may be called from any
/// number of threads at once, on one object or on copies. Copies may be made, and destroyed, on
/// different threads concurrently (the ownership count is atomic, as std::shared_ptr's is);
/// assigning to one LoadedModel object while another thread uses that same object is a race.
/// Writes into the tensors' memory are the caller's to order against other readers.
class LoadedModel {
 public:
  LoadedModel() = default;

  /// @brief Tensors in checkpoint (file) order.
  [[nodiscard]] std::span<const TensorView> tensors() const noexcept;
  /// @brief The tensor called `name`, or nullptr.
  [[nodiscard]] const TensorView* find(std::string_view name) const noexcept;
  /// @brief The tensor called `name`. @throws Error TensorNotFound
  [[nodiscard]] const TensorView& at(std::string_view name) const;
  /// @brief Number of loaded tensors.
  [[nodiscard]] std::size_t size() const noexcept;

  /// @brief Copies a tensor's bytes back to host memory.
  /// @param tensor one of tensors()
  /// @param out exactly tensor.bytes long
  /// @throws Error InvalidArgument on a size mismatch, Cuda on a failed copy
  void read(const TensorView& tensor, std::span<std::byte> out) const;

  /// @brief Internal: the shared state (arenas, engine) that keeps tensor memory alive.
  struct State;
  /// @brief Internal: wraps the state the loader built.
  explicit LoadedModel(std::shared_ptr<State> state);
  /// @brief Internal: the shared state; DLPack export holds a share of it.
  [[nodiscard]] const std::shared_ptr<State>& state() const noexcept { return state_; }

 private:
  std::shared_ptr<State> state_;
};

}  // namespace stload
