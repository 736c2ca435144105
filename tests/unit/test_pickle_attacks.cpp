// Hostile pickles: each is refused with an error naming what it tried, before anything could run.
// The reader has no way to call anything, so "nothing runs" holds by construction; these tests
// pin that each such pickle is an error (not a silently misread checkpoint) and that the error
// names the culprit.

#include <gtest/gtest.h>

#include <span>
#include <string>

#include "pt/pickle_reader.hpp"
#include "support/throws_error.hpp"
#include "support/torch_writer.hpp"

namespace stload {
namespace {

using detail::pt::PickleLimits;
using detail::pt::read_pickle;
using testing::PickleWriter;
using testing::throws_error;

auto reading(const std::string& bytes, PickleLimits limits = {}) {
  return [bytes, limits] {
    (void)read_pickle(std::as_bytes(std::span(bytes.data(), bytes.size())), limits);
  };
}

// `module.name(arg)` as a pickle's __reduce__ writes it.
std::string call(std::string_view module, std::string_view name, bool stack_global = false) {
  PickleWriter w;
  w.proto(stack_global ? 4 : 2);
  if (stack_global) {
    w.stack_global(module, name);
  } else {
    w.global(module, name);
  }
  return w.str("touch /tmp/pwned").op(static_cast<unsigned char>(0x85)).op('R').stop().data();
}

TEST(PickleAttacks, os_system_is_refused_naming_the_global) {
  EXPECT_TRUE(throws_error(reading(call("os", "system")), ErrorCode::InvalidHeader,
                           {"refused global 'os system'", "nothing was executed"}));
  EXPECT_TRUE(
      throws_error(reading(call("posix", "system")), ErrorCode::InvalidHeader, {"'posix system'"}));
  EXPECT_TRUE(
      throws_error(reading(call("nt", "system")), ErrorCode::InvalidHeader, {"'nt system'"}));
}

TEST(PickleAttacks, builtins_eval_and_exec_are_refused_through_global_and_stack_global) {
  for (const bool stack : {false, true}) {
    EXPECT_TRUE(throws_error(reading(call("builtins", "eval", stack)), ErrorCode::InvalidHeader,
                             {"'builtins eval'"}));
    EXPECT_TRUE(throws_error(reading(call("builtins", "exec", stack)), ErrorCode::InvalidHeader,
                             {"'builtins exec'"}));
    EXPECT_TRUE(throws_error(reading(call("__builtin__", "eval", stack)), ErrorCode::InvalidHeader,
                             {"'__builtin__ eval'"}));
    EXPECT_TRUE(throws_error(reading(call("builtins", "getattr", stack)), ErrorCode::InvalidHeader,
                             {"'builtins getattr'"}));
  }
}

TEST(PickleAttacks, subprocess_popen_is_refused) {
  EXPECT_TRUE(throws_error(reading(call("subprocess", "Popen")), ErrorCode::InvalidHeader,
                           {"'subprocess Popen'"}));
  EXPECT_TRUE(throws_error(reading(call("subprocess", "check_output", true)),
                           ErrorCode::InvalidHeader, {"'subprocess check_output'"}));
}

TEST(PickleAttacks, copyreg_reconstructor_is_refused) {
  PickleWriter w;
  w.proto(2).global("copyreg", "_reconstructor").op('(').global("__main__", "Evil");
  w.global("builtins", "object").op('N').op('t').op('R').stop();
  EXPECT_TRUE(
      throws_error(reading(w.data()), ErrorCode::InvalidHeader, {"'copyreg _reconstructor'"}));
}

TEST(PickleAttacks, reduce_of_an_arbitrary_class_is_refused) {
  EXPECT_TRUE(throws_error(reading(call("__main__", "Exploit")), ErrorCode::InvalidHeader,
                           {"'__main__ Exploit'"}));
  // A torch name outside the allowed set is refused as well (torch.load itself, for instance).
  EXPECT_TRUE(
      throws_error(reading(call("torch", "load")), ErrorCode::InvalidHeader, {"'torch load'"}));
  EXPECT_TRUE(throws_error(reading(call("torch._utils", "_rebuild_from_type_v2")),
                           ErrorCode::InvalidHeader, {"'torch._utils _rebuild_from_type_v2'"}));
}

TEST(PickleAttacks, global_names_with_control_bytes_are_shown_escaped) {
  EXPECT_TRUE(throws_error(reading(call("os\x1b[2J", "system", true)), ErrorCode::InvalidHeader,
                           {"'os?[2J system'"}));
}

TEST(PickleAttacks, reduce_calling_an_allowed_storage_class_is_refused) {
  EXPECT_TRUE(throws_error(reading(call("torch", "FloatStorage")), ErrorCode::InvalidHeader,
                           {"REDUCE calls FloatStorage"}));
}

TEST(PickleAttacks, reduce_of_a_value_that_is_not_a_global_is_refused) {
  PickleWriter w;
  w.proto(2).str("os.system").op(')').op('R').stop();
  EXPECT_TRUE(throws_error(reading(w.data()), ErrorCode::InvalidHeader, {"REDUCE calls a str"}));
}

TEST(PickleAttacks, newobj_inst_and_obj_are_refused) {
  PickleWriter newobj;
  newobj.proto(2).op('}').op(')').op(static_cast<unsigned char>(0x81)).stop();
  EXPECT_TRUE(throws_error(reading(newobj.data()), ErrorCode::InvalidHeader, {"NEWOBJ"}));
  PickleWriter inst;
  inst.proto(2).op('(').raw("iposix\nsystem\n").stop();
  EXPECT_TRUE(throws_error(reading(inst.data()), ErrorCode::InvalidHeader, {"INST"}));
  PickleWriter obj;
  obj.proto(2).op('(').op('}').op('o').stop();
  EXPECT_TRUE(throws_error(reading(obj.data()), ErrorCode::InvalidHeader, {"OBJ"}));
  PickleWriter ext;
  ext.proto(2).op(static_cast<unsigned char>(0x82)).raw("\x01").stop();
  EXPECT_TRUE(throws_error(reading(ext.data()), ErrorCode::InvalidHeader, {"EXT"}));
}

TEST(PickleAttacks, build_on_anything_but_an_ordered_dict_is_refused) {
  PickleWriter on_dict;
  on_dict.proto(2).op('}').op('}').op('b').stop();
  EXPECT_TRUE(throws_error(reading(on_dict.data()), ErrorCode::InvalidHeader, {"BUILD on a dict"}));
  PickleWriter on_list;
  on_list.proto(2).op(']').op('}').op('b').stop();
  EXPECT_TRUE(throws_error(reading(on_list.data()), ErrorCode::InvalidHeader, {"BUILD on a list"}));
  PickleWriter on_tensor;
  on_tensor.proto(2).tensor_v2("FloatStorage", "0", 1, 0, {1}, {1}).op('}').op('b').stop();
  EXPECT_TRUE(
      throws_error(reading(on_tensor.data()), ErrorCode::InvalidHeader, {"BUILD on a tensor"}));
}

TEST(PickleAttacks, persistent_id_that_is_not_a_storage_tuple_is_refused) {
  PickleWriter w;
  w.proto(2).str("storage").op(static_cast<unsigned char>(0x85)).op('Q').stop();
  EXPECT_TRUE(throws_error(reading(w.data()), ErrorCode::InvalidHeader, {"5-tuple"}));
  PickleWriter text;
  text.proto(2).raw("Pfoo\n").stop();
  EXPECT_TRUE(throws_error(reading(text.data()), ErrorCode::InvalidHeader, {"PERSID"}));
}

TEST(PickleAttacks, backward_hooks_that_are_not_empty_are_refused) {
  PickleWriter w;
  w.proto(2).global("torch._utils", "_rebuild_tensor_v2").op('(');
  w.op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(1);
  w.op('t').op('Q').integer(0).dims({1}).dims({1}).op(static_cast<unsigned char>(0x89));
  w.op('}').str("hook").str("x").op('s').op('t').op('R').stop();
  EXPECT_TRUE(throws_error(reading(w.data()), ErrorCode::InvalidHeader, {"backward hooks"}));
}

TEST(PickleAttacks, memo_get_of_an_entry_never_stored_is_refused) {
  PickleWriter w;
  w.proto(2).get(7).stop();
  EXPECT_TRUE(
      throws_error(reading(w.data()), ErrorCode::InvalidHeader, {"memo entry 7 was never stored"}));
}

TEST(PickleAttacks, memo_entries_above_the_limit_are_refused) {
  PickleWriter w;
  w.proto(2).op('N');
  for (std::uint32_t i = 0; i < 100; ++i) w.put(i);
  w.stop();
  PickleLimits limits;
  limits.max_memo = 50;
  EXPECT_TRUE(throws_error(reading(w.data(), limits), ErrorCode::InvalidHeader,
                           {"more than 50 memo entries"}));
}

TEST(PickleAttacks, recursive_list_through_the_memo_reads_as_data_without_looping) {
  // l = []; l.append(l): a container holding itself. Reading it is bounded (it is only an index);
  // a walker of the result bounds its depth (test_torch_checkpoint covers a dict holding itself).
  PickleWriter w;
  w.proto(2).op(']').put(0).get(0).op('a').stop();
  EXPECT_NO_THROW((void)read_pickle(std::as_bytes(std::span(w.data().data(), w.data().size()))));
}

TEST(PickleAttacks, huge_declared_lengths_are_refused_against_the_remaining_bytes) {
  PickleWriter str;
  str.proto(2).op('X').le32(0xFFFFFFFF).raw("abc").stop();
  EXPECT_TRUE(throws_error(reading(str.data()), ErrorCode::InvalidHeader,
                           {"BINUNICODE", "above the limit"}));
  PickleWriter str8;
  str8.proto(4).op(static_cast<unsigned char>(0x8d)).le64(1ULL << 62).stop();
  EXPECT_TRUE(throws_error(reading(str8.data()), ErrorCode::InvalidHeader, {"BINUNICODE8"}));
  PickleWriter bytes8;
  bytes8.proto(4).op(static_cast<unsigned char>(0x8e)).le64(1000).raw("short").stop();
  EXPECT_TRUE(throws_error(reading(bytes8.data()), ErrorCode::InvalidHeader,
                           {"BINBYTES8 declares 1000 bytes"}));
  PickleWriter frame;
  frame.proto(4).op(static_cast<unsigned char>(0x95)).le64(~0ULL).stop();
  EXPECT_TRUE(throws_error(reading(frame.data()), ErrorCode::InvalidHeader, {"FRAME"}));
  PickleWriter long4;
  long4.proto(2).op(static_cast<unsigned char>(0x8b)).le32(0x7FFFFFFF).stop();
  EXPECT_TRUE(throws_error(reading(long4.data()), ErrorCode::InvalidHeader, {"0x8b"}));
  PickleWriter long1;
  long1.proto(2).op(static_cast<unsigned char>(0x8a)).raw("\x09").raw(std::string(9, '\1')).stop();
  EXPECT_TRUE(throws_error(reading(long1.data()), ErrorCode::InvalidHeader, {"wider than 64"}));
}

TEST(PickleAttacks, deep_nesting_is_refused_at_the_depth_limit) {
  PickleWriter tuples;  // ((((... ,),),),) built by TUPLE1 alone: no recursion, one depth count
  tuples.proto(2).op(')');
  for (int i = 0; i < 100000; ++i) tuples.op(static_cast<unsigned char>(0x85));
  tuples.stop();
  EXPECT_TRUE(
      throws_error(reading(tuples.data()), ErrorCode::InvalidHeader, {"nested deeper than 256"}));
  PickleWriter marks;
  marks.proto(2);
  for (int i = 0; i < 100000; ++i) marks.op('(');
  marks.stop();
  EXPECT_TRUE(
      throws_error(reading(marks.data()), ErrorCode::InvalidHeader, {"MARKs nested deeper"}));
  PickleWriter appends;  // new = []; new.append(previous), the previous one fetched from the memo
  appends.proto(2).op(']');
  for (std::uint32_t i = 0; i < 1000; ++i) appends.put(i).op('0').op(']').get(i).op('a');
  appends.stop();
  EXPECT_TRUE(throws_error(reading(appends.data()), ErrorCode::InvalidHeader, {"nested deeper"}));
}

TEST(PickleAttacks, opcode_object_and_container_limits_hold) {
  PickleWriter many;
  many.proto(2).op(']').op('(');
  for (int i = 0; i < 1000; ++i) many.op('N');
  many.op('e').stop();
  PickleLimits ops;
  ops.max_opcodes = 500;
  EXPECT_TRUE(
      throws_error(reading(many.data(), ops), ErrorCode::InvalidHeader, {"more than 500 opcodes"}));
  PickleLimits objects;
  objects.max_objects = 100;
  EXPECT_TRUE(throws_error(reading(many.data(), objects), ErrorCode::InvalidHeader,
                           {"more than 100 objects"}));
  PickleLimits items;
  items.max_container = 10;
  EXPECT_TRUE(
      throws_error(reading(many.data(), items), ErrorCode::InvalidHeader, {"more than 10 items"}));
}

TEST(PickleAttacks, every_truncation_of_a_state_dict_pickle_is_refused_cleanly) {
  PickleWriter w;
  w.proto(2).op('}').op('(');
  w.str("weight").tensor_v2("BFloat16Storage", "0", 12, 0, {3, 4}, {4, 1});
  w.str("epoch").integer(7).op('u').stop();
  const std::string& full = w.data();
  for (std::size_t n = 0; n < full.size(); ++n) {
    EXPECT_TRUE(throws_error(reading(full.substr(0, n)), ErrorCode::InvalidHeader))
        << "truncated to " << n;
  }
}

TEST(PickleAttacks, stop_with_a_stack_that_is_not_one_value_is_refused) {
  PickleWriter two;
  two.proto(2).op('N').op('N').stop();
  EXPECT_TRUE(throws_error(reading(two.data()), ErrorCode::InvalidHeader, {"2 values"}));
  PickleWriter none;
  none.proto(2).stop();
  EXPECT_TRUE(throws_error(reading(none.data()), ErrorCode::InvalidHeader, {"0 values"}));
}

TEST(PickleAttacks, unknown_protocol_and_opcodes_are_refused) {
  PickleWriter p;
  p.proto(9).op('N').stop();
  EXPECT_TRUE(throws_error(reading(p.data()), ErrorCode::InvalidHeader, {"protocol 9"}));
  PickleWriter set;
  set.proto(4).op(static_cast<unsigned char>(0x8f)).stop();  // EMPTY_SET
  EXPECT_TRUE(throws_error(reading(set.data()), ErrorCode::InvalidHeader, {"0x8f"}));
}

}  // namespace
}  // namespace stload
