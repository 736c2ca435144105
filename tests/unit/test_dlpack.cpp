// DLPack export of loaded tensors: layout, dtype codes, and ownership outliving the model.
#include "stload/dlpack.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "stload/stload.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"

namespace stload {
namespace {

using testing::make_safetensors;
using testing::pattern_bytes;
using testing::TempDir;

LoadedModel load_cpu(const std::filesystem::path& path) {
  LoadOptions options;
  options.engine = EngineKind::Cpu;
  return load(Checkpoint::open(path), options);
}

TEST(Dlpack, exported_tensor_outlives_the_model_until_deleted) {
  const TempDir dir;
  const auto bytes = pattern_bytes(2 * 3 * 2, 7);
  const auto path = dir.write("m.safetensors", make_safetensors({{"w", "BF16", {2, 3}, bytes}}));
  DLManagedTensor* tensor = nullptr;
  {
    const LoadedModel model = load_cpu(path);
    tensor = to_dlpack(model, "w");
  }  // the model is gone; the tensor's share keeps the arena
  ASSERT_NE(tensor, nullptr);
  const DLTensor& t = tensor->dl_tensor;
  EXPECT_EQ(t.device.device_type, kDLCPU);
  EXPECT_EQ(t.ndim, 2);
  EXPECT_EQ(t.shape[0], 2);
  EXPECT_EQ(t.shape[1], 3);
  EXPECT_EQ(t.strides, nullptr);
  EXPECT_EQ(t.dtype.code, kDLBfloat);
  EXPECT_EQ(t.dtype.bits, 16);
  EXPECT_EQ(t.dtype.lanes, 1);
  ASSERT_NE(t.data, nullptr);
  EXPECT_EQ(std::memcmp(t.data, bytes.data(), bytes.size()), 0);  // ASan: no use-after-free
  tensor->deleter(tensor);
}

TEST(Dlpack, scalar_has_zero_dimensions) {
  const TempDir dir;
  const auto path =
      dir.write("s.safetensors", make_safetensors({{"s", "F32", {}, pattern_bytes(4, 1)}}));
  const LoadedModel model = load_cpu(path);
  DLManagedTensor* tensor = to_dlpack(model, "s");
  EXPECT_EQ(tensor->dl_tensor.ndim, 0);
  EXPECT_EQ(tensor->dl_tensor.dtype.code, kDLFloat);
  EXPECT_EQ(tensor->dl_tensor.dtype.bits, 32);
  tensor->deleter(tensor);
}

TEST(Dlpack, maps_every_expressible_dtype_and_rejects_the_rest) {
  EXPECT_EQ(to_dlpack_dtype(Dtype::I64).code, kDLInt);
  EXPECT_EQ(to_dlpack_dtype(Dtype::I64).bits, 64);
  EXPECT_EQ(to_dlpack_dtype(Dtype::U16).code, kDLUInt);
  EXPECT_EQ(to_dlpack_dtype(Dtype::F16).code, kDLFloat);
  EXPECT_EQ(to_dlpack_dtype(Dtype::C64).code, kDLComplex);
  EXPECT_EQ(to_dlpack_dtype(Dtype::C64).bits, 64);
  for (const Dtype dtype : kAllDtypes) {
    const bool f8_family = dtype == Dtype::F4 || dtype == Dtype::F6_E2M3 ||
                           dtype == Dtype::F6_E3M2 || dtype == Dtype::F8_E5M2 ||
                           dtype == Dtype::F8_E4M3 || dtype == Dtype::F8_E8M0 ||
                           dtype == Dtype::F8_E4M3FNUZ || dtype == Dtype::F8_E5M2FNUZ;
    const bool expressible = f8_family              ? STLOAD_DLPACK_HAS_FLOAT8 != 0
                             : dtype == Dtype::BOOL ? STLOAD_DLPACK_HAS_BOOL != 0
                                                    : true;
    if (expressible) {
      EXPECT_EQ(to_dlpack_dtype(dtype).bits, bit_size(dtype)) << to_string(dtype);
    } else {
      try {
        (void)to_dlpack_dtype(dtype);
        ADD_FAILURE() << to_string(dtype) << " mapped without a DLPack code";
      } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::InvalidArgument);
        EXPECT_NE(std::string(error.what()).find(to_string(dtype)), std::string::npos);
      }
    }
  }
}

TEST(Dlpack, rejects_a_tensor_of_another_model) {
  const TempDir dir;
  const auto path =
      dir.write("m.safetensors", make_safetensors({{"w", "U8", {4}, pattern_bytes(4, 2)}}));
  const LoadedModel a = load_cpu(path);
  const LoadedModel b = load_cpu(path);
  try {
    (void)to_dlpack(a, b.at("w"));
    FAIL() << "exported another model's tensor";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::InvalidArgument);
  }
}

TEST(Dlpack, unknown_name_is_tensor_not_found) {
  const TempDir dir;
  const auto path =
      dir.write("m.safetensors", make_safetensors({{"w", "U8", {4}, pattern_bytes(4, 2)}}));
  const LoadedModel model = load_cpu(path);
  try {
    (void)to_dlpack(model, "nope");
    FAIL() << "exported a missing tensor";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::TensorNotFound);
  }
}

}  // namespace
}  // namespace stload
