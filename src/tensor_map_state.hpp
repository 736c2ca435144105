#pragma once
// What a LoadedModel shares among its copies and exported DLPack tensors.

#include <string_view>
#include <unordered_map>
#include <vector>

#include "stload/engine.hpp"
#include "stload/plan.hpp"
#include "stload/tensor_map.hpp"

namespace stload {

struct LoadedModel::State {
  std::shared_ptr<CopyEngine> engine;  // declared first: destroyed after the arenas it freed
  std::vector<std::unique_ptr<Buffer>> arenas;
  std::vector<TensorView> views;           // checkpoint order; never resized once built
  std::vector<std::size_t> view_arena;     // parallel to views
  std::vector<std::uint64_t> view_offset;  // parallel to views
  std::unordered_map<std::string_view, std::size_t> by_name;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    arenas.clear();  // free device memory while the engine (and its context) is alive
  }
};

namespace detail {

/// The state of a loaded model, built from the plan alone: every view's name, dtype, shape and
/// size is the planned tensor's output spec, its address the tensor's arena offset in
/// `arenas` (parallel to plan.arenas, the arenas the load filled).
/// @throws Error InvalidArgument when a planned tensor does not fit its arena (a plan and arenas
/// that do not belong together)
[[nodiscard]] std::shared_ptr<LoadedModel::State> make_model_state(
    const LoadPlan& plan, std::shared_ptr<CopyEngine> engine,
    std::vector<std::unique_ptr<Buffer>> arenas);

}  // namespace detail
}  // namespace stload
