// An engine that does not convert dtypes (CopyEngine::converts_dtypes() false, the default): a
// load that would convert on it is refused, naming the engine, before any arena or staging is
// allocated; one whose conversions are all to the file's own dtype (plain copies) loads as usual.
// Both built-in engines convert, so a decorator plays the engine that does not.

#include <gtest/gtest.h>

#include <memory>
#include <utility>

#include "conformance/conformance_support.hpp"
#include "support/concurrent_loads.hpp"
#include "support/counting_engine.hpp"

namespace stload {
namespace {

class NoConversionEngine final : public CopyEngine {
 public:
  explicit NoConversionEngine(std::shared_ptr<CopyEngine> inner) : inner_(std::move(inner)) {}
  [[nodiscard]] std::string name() const override { return "plain"; }
  [[nodiscard]] EngineKind kind() const override { return inner_->kind(); }
  [[nodiscard]] std::vector<Device> devices() const override { return inner_->devices(); }
  [[nodiscard]] bool serves(Device device) const override { return inner_->serves(device); }
  [[nodiscard]] std::uint64_t free_memory(Device device) const override {
    return inner_->free_memory(device);
  }
  [[nodiscard]] bool host_addressable(Device device) const override {
    return inner_->host_addressable(device);
  }
  [[nodiscard]] std::unique_ptr<Buffer> allocate_arena(Device device,
                                                       std::uint64_t bytes) override {
    return inner_->allocate_arena(device, bytes);
  }
  [[nodiscard]] std::unique_ptr<Buffer> allocate_staging(std::uint64_t bytes) override {
    return inner_->allocate_staging(bytes);
  }
  [[nodiscard]] std::unique_ptr<CopySession> begin(std::size_t slots, std::size_t streams,
                                                   std::span<const Device> devices) override {
    return inner_->begin(slots, streams, devices);
  }
  void read_back(const Buffer& arena, std::uint64_t offset, std::span<std::byte> out) override {
    inner_->read_back(arena, offset, out);
  }

 private:
  std::shared_ptr<CopyEngine> inner_;
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
