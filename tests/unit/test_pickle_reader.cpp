// The restricted pickle reader on what torch.save writes: state dicts of tensors, parameters,
// shared storages, the newer dtypes through _rebuild_tensor_v3, and plain values.

#include <gtest/gtest.h>

#include <span>
#include <string>

#include "pt/pickle_reader.hpp"
#include "support/throws_error.hpp"
#include "support/torch_writer.hpp"

namespace stload {
namespace {

using detail::pt::Kind;
using detail::pt::Pickle;
using detail::pt::read_pickle;
using testing::PickleWriter;
using testing::row_major;

Pickle read(const PickleWriter& w) {
  return read_pickle(std::as_bytes(std::span(w.data().data(), w.data().size())));
}

// The value of `key` in the root dict.
const detail::pt::Object& value(const Pickle& p, std::string_view key) {
  const auto& root = p.objects[p.root];
  for (std::size_t i = 0; i + 1 < root.items.size(); i += 2)
    if (p.objects[root.items[i]].text == key) return p.objects[root.items[i + 1]];
  throw std::runtime_error("no key " + std::string(key));
}

TEST(PickleReader, reads_a_state_dict_of_tensors_parameters_and_plain_values) {
  PickleWriter w;
  w.proto(2).op('}').op('(');
  w.str("weight").tensor_v2("BFloat16Storage", "0", 12, 0, {3, 4}, row_major({3, 4}));
  w.str("bias").parameter_v2("FloatStorage", "1", 4, 0, {4}, {1});
  w.str("epoch").integer(7);
  w.str("lr").real(0.5);
  w.str("step").integer(-300000);
  w.str("big").integer(1LL << 40);
  w.str("name").str("run");
  w.str("flag").op(static_cast<unsigned char>(0x88));
  w.str("nothing").op('N');
  w.op('u').stop();
  const Pickle p = read(w);
  ASSERT_EQ(p.tensors.size(), 2U);
  ASSERT_EQ(p.storages.size(), 2U);
  const auto& weight = p.tensors[static_cast<std::size_t>(value(p, "weight").integer)];
  EXPECT_EQ(weight.dtype, Dtype::BF16);
  EXPECT_EQ(weight.shape, (std::vector<std::uint64_t>{3, 4}));
  EXPECT_EQ(weight.stride, (std::vector<std::uint64_t>{4, 1}));
  EXPECT_EQ(p.storages[weight.storage].key, "0");
  EXPECT_EQ(p.storages[weight.storage].numel, 12U);
  const auto& bias = p.tensors[static_cast<std::size_t>(value(p, "bias").integer)];
  EXPECT_TRUE(bias.parameter);
  EXPECT_TRUE(bias.requires_grad);
  EXPECT_EQ(bias.dtype, Dtype::F32);
  EXPECT_EQ(value(p, "epoch").integer, 7);
  EXPECT_EQ(value(p, "lr").real, 0.5);
  EXPECT_EQ(value(p, "step").integer, -300000);
  EXPECT_EQ(value(p, "big").integer, 1LL << 40);
  EXPECT_EQ(value(p, "name").text, "run");
  EXPECT_EQ(value(p, "flag").kind, Kind::Bool);
  EXPECT_EQ(value(p, "nothing").kind, Kind::None);
}

TEST(PickleReader, two_views_of_one_storage_share_it) {
  PickleWriter w;
  w.proto(2).op('}').op('(');
  w.str("a").tensor_v2("HalfStorage", "0", 10, 0, {4}, {1});
  w.str("b").tensor_v2("HalfStorage", "0", 10, 6, {4}, {1});
  w.op('u').stop();
  const Pickle p = read(w);
  ASSERT_EQ(p.storages.size(), 1U);
  const auto& b = p.tensors[static_cast<std::size_t>(value(p, "b").integer)];
  EXPECT_EQ(b.storage, 0U);
  EXPECT_EQ(b.storage_offset, 6U);
}

TEST(PickleReader, one_storage_key_declared_with_two_sizes_is_refused) {
  PickleWriter w;
  w.proto(2).op('}').op('(');
  w.str("a").tensor_v2("HalfStorage", "0", 10, 0, {4}, {1});
  w.str("b").tensor_v2("HalfStorage", "0", 99, 0, {4}, {1});
  w.op('u').stop();
  EXPECT_TRUE(testing::throws_error([&] { (void)read(w); }, ErrorCode::InvalidHeader,
                                    {"storage '0' declared twice"}));
}

TEST(PickleReader, newer_dtypes_come_through_rebuild_tensor_v3_and_an_untyped_storage) {
  PickleWriter w;
  w.proto(2).op('}').op('(').str("f8");
  w.global("torch._utils", "_rebuild_tensor_v3").op('(');
  w.op('(').str("storage").global("torch.storage", "UntypedStorage").str("0").str("cpu");
  w.integer(6).op('t').op('Q');
  w.integer(2).dims({4}).dims({1}).op(static_cast<unsigned char>(0x89)).ordered_dict();
  w.global("torch", "float8_e4m3fn").op('t').op('R');
  w.op('u').stop();
  const Pickle p = read(w);
  ASSERT_EQ(p.tensors.size(), 1U);
  EXPECT_EQ(p.tensors[0].dtype, Dtype::F8_E4M3);
  EXPECT_EQ(p.tensors[0].storage_offset, 2U);
  EXPECT_EQ(p.storages[0].type, "UntypedStorage");
  EXPECT_EQ(p.storages[0].numel, 6U);
}

TEST(PickleReader, protocol_2_bytes_come_through_codecs_encode_latin1) {
  PickleWriter w;
  w.proto(2).op('}').str("blob").global("_codecs", "encode").str("a\xc3\xbf").str("latin1");
  w.op(static_cast<unsigned char>(0x86)).op('R').op('s').stop();
  const Pickle p = read(w);
  EXPECT_EQ(value(p, "blob").kind, Kind::Bytes);
  EXPECT_EQ(value(p, "blob").text, std::string("a\xff"));
}

TEST(PickleReader, protocols_4_and_5_frames_memoize_and_stack_global_are_read) {
  PickleWriter w;
  w.proto(4).op(static_cast<unsigned char>(0x95)).le64(0);
  w.op('}').op(static_cast<unsigned char>(0x94)).str("x");
  w.stack_global("collections", "OrderedDict").op(')').op('R').op(static_cast<unsigned char>(0x94));
  w.op('s').stop();
  const Pickle p = read(w);
  EXPECT_TRUE(value(p, "x").ordered);
}

TEST(PickleReader, state_dict_metadata_set_by_build_on_an_ordered_dict_is_read) {
  PickleWriter w;
  w.proto(2).ordered_dict().op('}').str("_metadata").op('}').op('s').op('b').stop();
  const Pickle p = read(w);
  EXPECT_TRUE(p.objects[p.root].ordered);
}

}  // namespace
}  // namespace stload
