// The CUDA engine does not copy strided tensors yet (no gathers_strided): a load of a PyTorch
// checkpoint holding a transposed view is refused, naming the tensor and what to do, before any
// arena or staging is allocated; the same checkpoint without that tensor loads as usual.

#include <gtest/gtest.h>

#include <memory>

#include "sim_support.hpp"
#include "support/counting_engine.hpp"
#include "support/torch_writer.hpp"

namespace stload::sim_test {
namespace {

TEST(StridedOnCuda, a_load_of_a_strided_tensor_is_refused_before_anything_is_allocated) {
  stload::testing::PickleWriter w;
  w.proto(2).op('}').op('(');
  w.str("t").tensor_v2("FloatStorage", "0", 6, 0, {3, 2}, {1, 3});  // (2, 3).T
  w.str("plain").tensor_v2("FloatStorage", "1", 2, 0, {2}, {1});
  w.op('u').stop();
  const std::string zip =
      stload::testing::write_torch_zip(w.data(), {{"0", std::string(24, 'a')}, {"1", "12345678"}})
          .bytes;
  stload::testing::TempDir dir;
  const Checkpoint checkpoint =
      Checkpoint::open(dir.write("t.pt", std::as_bytes(std::span(zip.data(), zip.size()))));
  auto engine = std::make_shared<stload::testing::CountingEngine>(make_cuda_engine());
  LoadOptions options = staged(DeviceMap(gpu(0)));
  EXPECT_TRUE(conformance::is_error(
      conformance::error_of([&] { static_cast<void>(load(checkpoint, options, engine)); }),
      ErrorCode::InvalidArgument,
      {"the cuda engine cannot copy strided tensors yet", "tensor 't'", "cpu engine",
       ".contiguous()"}));
  EXPECT_EQ(engine->allocations(), 0U);
  options.only = {"plain"};
  const LoadedModel model = load(checkpoint, options, engine);
  EXPECT_EQ(model.at("plain").bytes, 8U);
}

}  // namespace
}  // namespace stload::sim_test
