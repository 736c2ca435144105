// The loaded model is built from the plan alone (tensor_map_state.hpp): a hand-made plan whose
// output specs differ from any checkpoint shows through in the views, and a plan that does not
// fit its arenas is refused before a view points outside them.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "stload/engine.hpp"
#include "stload/error.hpp"
#include "stload/plan.hpp"
#include "tensor_map_state.hpp"

namespace stload {
namespace {

constexpr Device kCpu0{DeviceKind::Cpu, 0};
constexpr Device kCpu1{DeviceKind::Cpu, 1};

PlannedTensor planned(std::string name, Dtype dtype, std::vector<std::uint64_t> shape,
                      std::uint64_t bytes, std::size_t arena, std::uint64_t offset) {
  PlannedTensor t;
  t.tensor = 7;  // no checkpoint behind it: nothing may read through this index
  t.name = std::move(name);
  t.output = OutputSpec{dtype, std::move(shape), bytes};
  t.arena = arena;
  t.arena_offset = offset;
  return t;
}

std::vector<std::unique_ptr<Buffer>> arenas_for(CopyEngine& engine, const LoadPlan& plan) {
  std::vector<std::unique_ptr<Buffer>> arenas;
  for (const ArenaPlan& arena : plan.arenas)
    arenas.push_back(engine.allocate_arena(arena.device, arena.bytes));
  return arenas;
}

TEST(ModelState, views_show_the_plans_output_specs_names_and_arena_offsets) {
  LoadPlan plan;
  plan.arenas = {ArenaPlan{kCpu0, 1024}, ArenaPlan{kCpu1, 512}};
  plan.tensors = {planned("w.converted", Dtype::F32, {2, 3}, 24, 0, 256),
                  planned("w.sliced", Dtype::BF16, {4}, 8, 1, 0),
                  planned("w.empty", Dtype::F16, {0, 5}, 0, 0, 512)};
  const auto engine = make_cpu_engine();
  auto arenas = arenas_for(*engine, plan);
  std::byte* first = arenas[0]->data();
  std::byte* second = arenas[1]->data();
  const LoadedModel model(detail::make_model_state(plan, engine, std::move(arenas)));

  ASSERT_EQ(model.size(), 3U);
  const TensorView& converted = model.at("w.converted");
  EXPECT_EQ(converted.dtype, Dtype::F32);
  EXPECT_EQ(converted.shape, (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(converted.bytes, 24U);
  EXPECT_EQ(converted.device, kCpu0);
  EXPECT_EQ(converted.data, first + 256);
  const TensorView& sliced = model.at("w.sliced");
  EXPECT_EQ(sliced.dtype, Dtype::BF16);
  EXPECT_EQ(sliced.device, kCpu1);
  EXPECT_EQ(sliced.data, second);
  EXPECT_EQ(model.at("w.empty").bytes, 0U);
  EXPECT_EQ(model.tensors()[0].name, "w.converted") << "views keep the plan's order";
  EXPECT_EQ(model.tensors()[2].name, "w.empty");

  // read() goes through the arena and offset the plan gave.
  first[256] = std::byte{0x5a};
  std::vector<std::byte> out(24);
  model.read(converted, out);
  EXPECT_EQ(out[0], std::byte{0x5a});
}

TEST(ModelState, tensor_running_past_its_arena_is_refused_naming_it) {
  LoadPlan plan;
  plan.arenas = {ArenaPlan{kCpu0, 256}};
  plan.tensors = {planned("too.big", Dtype::F32, {65}, 260, 0, 0)};
  const auto engine = make_cpu_engine();
  try {
    static_cast<void>(detail::make_model_state(plan, engine, arenas_for(*engine, plan)));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("'too.big'"), std::string::npos) << e.what();
  }
}

TEST(ModelState, arenas_that_are_not_the_plans_are_refused) {
  LoadPlan plan;
  plan.arenas = {ArenaPlan{kCpu0, 256}, ArenaPlan{kCpu1, 256}};
  plan.tensors = {planned("t", Dtype::U8, {1}, 1, 1, 0)};
  const auto engine = make_cpu_engine();
  std::vector<std::unique_ptr<Buffer>> one;
  one.push_back(engine->allocate_arena(kCpu0, 256));
  EXPECT_THROW(static_cast<void>(detail::make_model_state(plan, engine, std::move(one))), Error);
}

}  // namespace
}  // namespace stload
