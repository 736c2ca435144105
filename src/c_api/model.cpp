// C API: the loaded model's tensors, read-back and DLPack export.
#include <cstring>
#include <memory>
#include <span>
#include <string>

#include "c_api/guard.hpp"
#include "c_api/struct_size.hpp"
#include "detail/check.hpp"
#include "stload/dlpack.hpp"

namespace stload::c_api {
namespace {

const stload_model& checked(const stload_model* model, const char* function) {
  STLOAD_EXPECT(model != nullptr, ErrorCode::InvalidArgument,
                std::string(function) + ": model must not be NULL");
  return *model;
}

const TensorView& find(const stload_model* model, const char* name, const char* function) {
  const stload_model& checked_model = checked(model, function);
  STLOAD_EXPECT(name != nullptr, ErrorCode::InvalidArgument,
                std::string(function) + ": name must not be NULL");
  return checked_model.model.at(name);
}

// Fills the caller's `out`, whose struct_size is checked first, as every fallible call leaves its
// out parameters untouched when it fails.
void describe(const TensorView& view, stload_tensor& caller) {
  check_struct_size(caller.struct_size, "stload_tensor");
  stload_tensor out{};
  out.name = view.name.c_str();
  out.dtype = static_cast<stload_dtype>(view.dtype);
  out.dtype_name = stload_dtype_name(out.dtype);
  out.ndim = view.shape.size();
  out.shape = view.shape.empty() ? nullptr : view.shape.data();
  out.device = stload_device{static_cast<stload_device_kind>(view.device.kind),
                             static_cast<std::int32_t>(view.device.index)};
  out.data = view.data;
  out.bytes = view.bytes;
  to_caller(out, caller);
}

}  // namespace
}  // namespace stload::c_api

extern "C" {

void stload_model_free(stload_model* model) {
  const std::unique_ptr<stload_model> owned(model);
}

size_t stload_model_tensor_count(const stload_model* model) {
  return model == nullptr ? 0 : model->model.size();
}

stload_status stload_model_tensor(const stload_model* model, size_t index, stload_tensor* out) {
  using namespace stload;
  return c_api::guard([&] {
    const auto tensors = c_api::checked(model, "stload_model_tensor").model.tensors();
    STLOAD_EXPECT(out != nullptr, ErrorCode::InvalidArgument,
                  "stload_model_tensor: out must not be NULL");
    STLOAD_EXPECT(index < tensors.size(), ErrorCode::InvalidArgument,
                  "stload_model_tensor: index " + std::to_string(index) + " of " +
                      std::to_string(tensors.size()) + " tensors");
    c_api::describe(tensors[index], *out);
  });
}

stload_status stload_model_find(const stload_model* model, const char* name, stload_tensor* out) {
  using namespace stload;
  return c_api::guard([&] {
    const TensorView& view = c_api::find(model, name, "stload_model_find");
    STLOAD_EXPECT(out != nullptr, ErrorCode::InvalidArgument,
                  "stload_model_find: out must not be NULL");
    c_api::describe(view, *out);
  });
}

stload_status stload_model_read(const stload_model* model, const char* name, void* out,
                                uint64_t bytes) {
  using namespace stload;
  return c_api::guard([&] {
    const TensorView& view = c_api::find(model, name, "stload_model_read");
    STLOAD_EXPECT(out != nullptr || bytes == 0, ErrorCode::InvalidArgument,
                  "stload_model_read: out must not be NULL");
    model->model.read(view, std::span<std::byte>(static_cast<std::byte*>(out), bytes));
  });
}

stload_status stload_model_to_dlpack(const stload_model* model, const char* name,
                                     struct DLManagedTensor** out) {
  using namespace stload;
  return c_api::guard([&] {
    const TensorView& view = c_api::find(model, name, "stload_model_to_dlpack");
    STLOAD_EXPECT(out != nullptr, ErrorCode::InvalidArgument,
                  "stload_model_to_dlpack: out must not be NULL");
    *out = to_dlpack(model->model, view);
  });
}

}  // extern "C"
