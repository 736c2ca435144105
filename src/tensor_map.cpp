#include "stload/tensor_map.hpp"

#include "detail/check.hpp"
#include "tensor_map_state.hpp"

namespace stload {

LoadedModel::LoadedModel(std::shared_ptr<State> state) : state_(std::move(state)) {}

std::span<const TensorView> LoadedModel::tensors() const noexcept {
  if (!state_) return {};
  return state_->views;
}

std::size_t LoadedModel::size() const noexcept {
  return state_ ? state_->views.size() : 0;
}

const TensorView* LoadedModel::find(std::string_view name) const noexcept {
  if (!state_) return nullptr;
  const auto it = state_->by_name.find(name);
  return it == state_->by_name.end() ? nullptr : &state_->views[it->second];
}

const TensorView& LoadedModel::at(std::string_view name) const {
  const TensorView* view = find(name);
  STLOAD_EXPECT(view != nullptr, ErrorCode::TensorNotFound,
                "no tensor '" + std::string(name) + "' was loaded");
  return *view;
}

void LoadedModel::read(const TensorView& tensor, std::span<std::byte> out) const {
  STLOAD_EXPECT(state_ && &tensor >= state_->views.data() &&
                    &tensor < state_->views.data() + state_->views.size(),
                ErrorCode::InvalidArgument, "tensor '" + tensor.name + "' is not from this model");
  STLOAD_EXPECT(out.size() == tensor.bytes, ErrorCode::InvalidArgument,
                "tensor '" + tensor.name + "' has " + std::to_string(tensor.bytes) +
                    " bytes, the output buffer " + std::to_string(out.size()));
  const auto index = static_cast<std::size_t>(&tensor - state_->views.data());
  if (out.empty()) return;
  state_->engine->read_back(*state_->arenas[state_->view_arena[index]], state_->view_offset[index],
                            out);
}

namespace detail {

std::shared_ptr<LoadedModel::State> make_model_state(const LoadPlan& plan,
                                                     std::shared_ptr<CopyEngine> engine,
                                                     std::vector<std::unique_ptr<Buffer>> arenas) {
  STLOAD_EXPECT(arenas.size() == plan.arenas.size(), ErrorCode::InvalidArgument,
                "a load filled " + std::to_string(arenas.size()) + " arenas, its plan has " +
                    std::to_string(plan.arenas.size()));
  auto state = std::make_shared<LoadedModel::State>();
  state->engine = std::move(engine);
  state->arenas = std::move(arenas);
  state->views.reserve(plan.tensors.size());
  for (const PlannedTensor& placed : plan.tensors) {
    STLOAD_EXPECT(placed.arena < state->arenas.size(), ErrorCode::InvalidArgument,
                  "tensor '" + placed.name + "' is planned in arena " +
                      std::to_string(placed.arena) + " of " + std::to_string(state->arenas.size()));
    const Buffer& arena = *state->arenas[placed.arena];
    STLOAD_EXPECT(placed.arena_offset <= arena.size() &&
                      placed.output.bytes <= arena.size() - placed.arena_offset,
                  ErrorCode::InvalidArgument,
                  "tensor '" + placed.name + "' (" + std::to_string(placed.output.bytes) +
                      " bytes at " + std::to_string(placed.arena_offset) +
                      ") does not fit its arena of " + std::to_string(arena.size()) + " bytes");
    std::byte* base = arena.data();
    state->views.push_back(TensorView{
        placed.name, arena.device(), base == nullptr ? nullptr : base + placed.arena_offset,
        placed.output.dtype, placed.output.shape, placed.output.bytes});
    state->view_arena.push_back(placed.arena);
    state->view_offset.push_back(placed.arena_offset);
  }
  state->by_name.reserve(state->views.size());
  for (std::size_t i = 0; i < state->views.size(); ++i)
    state->by_name.emplace(state->views[i].name, i);
  return state;
}

}  // namespace detail
}  // namespace stload
