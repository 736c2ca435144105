// The CUDA engine does not convert dtypes yet: a load that would convert on it is refused, naming
// the engine, before any arena or staging is allocated; one whose conversions are all to the
// file's own dtype (plain copies) loads as usual.

#include <gtest/gtest.h>

#include <memory>

#include "sim_support.hpp"
#include "support/counting_engine.hpp"

namespace stload::sim_test {
namespace {

TEST(DtypeOnCuda, a_converting_load_is_refused_before_anything_is_allocated) {
  stload::testing::TempDir dir;
  const Checkpoint checkpoint = Checkpoint::open(dir.write(
      "bf16.safetensors",
      stload::testing::make_safetensors({conformance::make_tensor("w", Dtype::BF16, {64}, 1)})));
  auto engine = std::make_shared<stload::testing::CountingEngine>(make_cuda_engine());
  LoadOptions options = staged(DeviceMap(gpu(0)));
  options.dtype.floats = Dtype::F32;
  EXPECT_TRUE(conformance::is_error(
      conformance::error_of([&] { static_cast<void>(load(checkpoint, options, engine)); }),
      ErrorCode::InvalidArgument, {"the cuda engine cannot convert dtypes yet"}));
  EXPECT_EQ(engine->allocations(), 0U);
  options.dtype.floats = Dtype::BF16;  // its own dtype: a copy
  const LoadedModel model = load(checkpoint, options, engine);
  EXPECT_EQ(stload::testing::differences(model, checkpoint), "");
}

}  // namespace
}  // namespace stload::sim_test
