// Checkpoints written by torch.save itself (tests/data/pt, made by make_fixtures.py): every tensor
// stload reads equals what torch.load(weights_only=True) read when the fixture was made (the
// .expect beside it), so this cross-check runs on machines without torch.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/loader.hpp"
#include "stload/tensor_map.hpp"
#include "support/throws_error.hpp"

namespace stload {
namespace {

const std::filesystem::path kData = std::filesystem::path(STLOAD_TEST_DATA_DIR) / "pt";

struct Expected {
  std::string name, dtype, dims, hex;
};

std::vector<Expected> expected(const std::filesystem::path& file) {
  std::ifstream in(file.string() + ".expect");
  std::vector<Expected> out;
  Expected e;
  while (in >> e.name >> e.dtype >> e.dims >> e.hex) out.push_back(e);
  return out;
}

std::string dims_of(const std::vector<std::uint64_t>& shape) {
  std::string s;
  for (const std::uint64_t d : shape) s += (s.empty() ? "" : ",") + std::to_string(d);
  return s.empty() ? "-" : s;
}

std::string hex_of(const void* data, std::uint64_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (std::uint64_t i = 0; i < n; ++i) {
    const auto b = static_cast<const unsigned char*>(data)[i];
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s.empty() ? "-" : s;
}

void check_against_torch(const std::filesystem::path& file) {
  const std::vector<Expected> want = expected(file);
  ASSERT_FALSE(want.empty()) << file;
  const Checkpoint c = Checkpoint::open(file);
  LoadOptions options;
  options.engine = EngineKind::Cpu;
  const LoadedModel model = load(c, options);
  EXPECT_EQ(c.tensors().size(), want.size());
  for (const Expected& e : want) {
    SCOPED_TRACE(e.name);
    const TensorRecord* rec = c.find(e.name);
    ASSERT_NE(rec, nullptr);
    EXPECT_EQ(to_string(rec->info.dtype), e.dtype);
    EXPECT_EQ(dims_of(rec->info.shape), e.dims);
    const TensorView& view = model.at(e.name);
    EXPECT_EQ(hex_of(view.data, view.bytes), e.hex);
  }
}

TEST(TorchFixtures, every_dtype_shared_storages_parameters_and_scalars_equal_torch_load) {
  check_against_torch(kData / "state_dict_dtypes.pt");
}

TEST(TorchFixtures, nested_checkpoint_reads_its_state_dict_and_notes_the_rest) {
  check_against_torch(kData / "nested_checkpoint.pth");
  const Checkpoint c = Checkpoint::open(kData / "nested_checkpoint.pth");
  ASSERT_EQ(c.notes().size(), 1U);
  EXPECT_NE(c.notes()[0].find("'epoch' (int), 'optimizer' (dict)"), std::string::npos)
      << c.notes()[0];
}

TEST(TorchFixtures, legacy_pre_1_6_checkpoint_is_refused_saying_what_to_do) {
  EXPECT_TRUE(testing::throws_error([] { (void)Checkpoint::open(kData / "legacy_format.pt"); },
                                    ErrorCode::InvalidHeader,
                                    {"legacy_format.pt", "legacy (pre-1.6, non-zip)", "re-save"}));
}

}  // namespace
}  // namespace stload
