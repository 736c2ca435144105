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

}  // namespace stload
