// An engine that does not convert dtypes (CopyEngine::converts_dtypes() false, the default): a
// load that would convert on it is refused, naming the engine, before any arena or staging is
// allocated; one whose conversions are all to the file's own dtype (plain copies) loads as usual.
// Both built-in engines convert, so a decorator plays the engine that does not.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "conformance/conformance_support.hpp"
#include "support/concurrent_loads.hpp"
#include "support/counting_engine.hpp"
#include "support/forwarding_engine.hpp"

namespace stload {
namespace {

class NoConversionEngine final : public stload::testing::ForwardingEngine {
 public:
  using ForwardingEngine::ForwardingEngine;
  [[nodiscard]] std::string name() const override { return "plain"; }
  [[nodiscard]] bool converts_dtypes() const override { return false; }
};

TEST(EngineWithoutConversion, a_converting_load_is_refused_before_anything_is_allocated) {
  stload::testing::TempDir dir;
  const Checkpoint checkpoint = Checkpoint::open(dir.write(
      "bf16.safetensors",
      stload::testing::make_safetensors({conformance::make_tensor("w", Dtype::BF16, {64}, 1)})));
  auto counting = std::make_shared<stload::testing::CountingEngine>(make_cpu_engine());
  const auto engine = std::make_shared<NoConversionEngine>(counting);
  LoadOptions options;
  options.dtype.floats = Dtype::F32;
  EXPECT_TRUE(conformance::is_error(
      conformance::error_of([&] { static_cast<void>(load(checkpoint, options, engine)); }),
      ErrorCode::InvalidArgument, {"the plain engine cannot convert dtypes", "1 tensors"}));
  EXPECT_EQ(counting->allocations(), 0U);
  options.dtype.floats = Dtype::BF16;  // its own dtype: a copy
  const LoadedModel model = load(checkpoint, options, engine);
  EXPECT_EQ(stload::testing::differences(model, checkpoint), "");
}

}  // namespace
}  // namespace stload
