#pragma once
/// @file dlpack.hpp
/// @brief Hands loaded tensors to other frameworks (PyTorch, NumPy, CuPy, JAX) as DLPack tensors
/// without a copy.
///
/// Optional: this is the one stload header that needs more than the standard library, namely
/// `<dlpack/dlpack.h>` (Debian's libdlpack-dev, or `find_package(dlpack)`). stload.hpp does not
/// include it. Everything here is inline, so the stload library itself does not depend on DLPack.

#include <dlpack/dlpack.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stload/dtype.hpp"
#include "stload/error.hpp"
#include "stload/tensor_map.hpp"

// DLPack 1.1 added the sub-byte and float8 type codes; older headers (Debian ships 0.6) lack them.
#if defined(DLPACK_MAJOR_VERSION) && defined(DLPACK_MINOR_VERSION) && \
    (DLPACK_MAJOR_VERSION > 1 || (DLPACK_MAJOR_VERSION == 1 && DLPACK_MINOR_VERSION >= 1))
/// @brief 1 when <dlpack/dlpack.h> has the float8/float6/float4 codes (DLPack >= 1.1).
#define STLOAD_DLPACK_HAS_FLOAT8 1
#else
/// @brief 0: this <dlpack/dlpack.h> predates the float8/float6/float4 codes (DLPack 1.1).
#define STLOAD_DLPACK_HAS_FLOAT8 0
#endif
// kDLBool arrived in DLPack 0.8.
#if (defined(DLPACK_MAJOR_VERSION) && DLPACK_MAJOR_VERSION >= 1) || \
    (defined(DLPACK_VERSION) && DLPACK_VERSION >= 80)
/// @brief 1 when <dlpack/dlpack.h> has kDLBool (DLPack >= 0.8).
#define STLOAD_DLPACK_HAS_BOOL 1
#else
/// @brief 0: this <dlpack/dlpack.h> predates kDLBool (DLPack 0.8).
#define STLOAD_DLPACK_HAS_BOOL 0
#endif

namespace stload {

/// @brief The DLPack data type of `dtype`.
/// @throws Error InvalidArgument for a dtype this DLPack version cannot express (BOOL before
///         DLPack 0.8; F4, F6 and F8 before DLPack 1.1; U16/U32/U64 are expressible as kDLUInt).
[[nodiscard]] inline DLDataType to_dlpack_dtype(Dtype dtype) {
  const auto make = [](auto code, unsigned bits) {
    return DLDataType{static_cast<std::uint8_t>(code), static_cast<std::uint8_t>(bits), 1};
  };
  switch (dtype) {
    case Dtype::U8:
      return make(kDLUInt, 8);
    case Dtype::U16:
      return make(kDLUInt, 16);
    case Dtype::U32:
      return make(kDLUInt, 32);
    case Dtype::U64:
      return make(kDLUInt, 64);
    case Dtype::I8:
      return make(kDLInt, 8);
    case Dtype::I16:
      return make(kDLInt, 16);
    case Dtype::I32:
      return make(kDLInt, 32);
    case Dtype::I64:
      return make(kDLInt, 64);
    case Dtype::F16:
      return make(kDLFloat, 16);
    case Dtype::F32:
      return make(kDLFloat, 32);
    case Dtype::F64:
      return make(kDLFloat, 64);
    case Dtype::BF16:
      return make(kDLBfloat, 16);
    case Dtype::C64:
      return make(kDLComplex, 64);  // two f32: complex64
#if STLOAD_DLPACK_HAS_BOOL
    case Dtype::BOOL:
      return make(kDLBool, 8);
#endif
#if STLOAD_DLPACK_HAS_FLOAT8
    case Dtype::F8_E5M2:
      return make(kDLFloat8_e5m2, 8);
    case Dtype::F8_E4M3:
      return make(kDLFloat8_e4m3fn, 8);  // safetensors' E4M3 is torch's e4m3fn
    case Dtype::F8_E8M0:
      return make(kDLFloat8_e8m0fnu, 8);
    case Dtype::F8_E4M3FNUZ:
      return make(kDLFloat8_e4m3fnuz, 8);
    case Dtype::F8_E5M2FNUZ:
      return make(kDLFloat8_e5m2fnuz, 8);
    case Dtype::F6_E2M3:
      return make(kDLFloat6_e2m3fn, 6);
    case Dtype::F6_E3M2:
      return make(kDLFloat6_e3m2fn, 6);
    case Dtype::F4:
      return make(kDLFloat4_e2m1fn, 4);
#endif
    default:
      break;
  }
  throw Error(ErrorCode::InvalidArgument,
              "dtype " + std::string(to_string(dtype)) + " has no DLPack type code in DLPack " +
#if defined(DLPACK_MAJOR_VERSION)
                  std::to_string(DLPACK_MAJOR_VERSION) + "." + std::to_string(DLPACK_MINOR_VERSION)
#else
                  std::to_string(DLPACK_VERSION)
#endif
                  + " (the <dlpack/dlpack.h> stload was compiled against)");
}

/// @brief The DLPack device of `device`. Every `cpu:N` is host memory, so it is kDLCPU device 0.
[[nodiscard]] inline DLDevice to_dlpack_device(Device device) noexcept {
  if (device.kind == DeviceKind::Cuda) return DLDevice{kDLCUDA, device.index};
  return DLDevice{kDLCPU, 0};
}

namespace detail {
/// @brief What an exported DLManagedTensor owns: a share of the model, so the arena outlives the
/// model object, and the shape array DLTensor points into.
struct DlpackContext {
  LoadedModel model;                ///< a share of the arenas
  std::vector<std::int64_t> shape;  ///< DLTensor::shape points here
  DLManagedTensor managed{};        ///< what the consumer receives
};
}  // namespace detail

/// @brief Exports one loaded tensor as a DLManagedTensor, without copying. The tensor shares
/// ownership of the model's arenas: `model` may be destroyed first; the memory is released when
/// the consumer calls `deleter` (and every other owner is gone).
/// @param model the model `tensor` belongs to
/// @param tensor one of `model.tensors()`
/// @return a tensor the caller owns: call `result->deleter(result)` exactly once
/// @throws Error InvalidArgument when `tensor` is not one of `model`'s or its dtype has no DLPack
///         code (see to_dlpack_dtype()), or a dimension exceeds int64
[[nodiscard]] inline DLManagedTensor* to_dlpack(const LoadedModel& model,
                                                const TensorView& tensor) {
  const auto views = model.tensors();
  if (views.empty() || &tensor < views.data() || &tensor >= views.data() + views.size()) {
    throw Error(ErrorCode::InvalidArgument, "tensor '" + tensor.name + "' is not from this model");
  }
  const DLDataType dtype = to_dlpack_dtype(tensor.dtype);
  auto context = std::make_unique<detail::DlpackContext>();
  context->model = model;
  context->shape.reserve(tensor.shape.size());
  for (const std::uint64_t dim : tensor.shape) {
    if (dim > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      throw Error(ErrorCode::InvalidArgument,
                  "tensor '" + tensor.name + "' has a dimension DLPack cannot express");
    }
    context->shape.push_back(static_cast<std::int64_t>(dim));
  }
  DLTensor& out = context->managed.dl_tensor;
  out.data = tensor.data;
  out.device = to_dlpack_device(tensor.device);
  out.ndim = static_cast<int>(context->shape.size());
  out.dtype = dtype;
  out.shape = context->shape.empty() ? nullptr : context->shape.data();
  out.strides = nullptr;  // compact row-major
  out.byte_offset = 0;
  context->managed.manager_ctx = context.get();
  context->managed.deleter = [](DLManagedTensor* self) {
    if (self == nullptr) return;
    // Deletes the context that holds `self`, dropping this tensor's share of the model.
    const std::unique_ptr<detail::DlpackContext> owned(
        static_cast<detail::DlpackContext*>(self->manager_ctx));
  };
  return &context.release()->managed;
}

/// @brief Exports the tensor called `name`. @throws Error TensorNotFound, or as above
[[nodiscard]] inline DLManagedTensor* to_dlpack(const LoadedModel& model, std::string_view name) {
  return to_dlpack(model, model.at(name));
}

}  // namespace stload
