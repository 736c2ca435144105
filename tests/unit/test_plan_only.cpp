// LoadOptions::only / PlanOptions::only (name patterns, name_rules.hpp) and the "nothing matched"
// rule: a pattern or a filter that selects nothing fails, naming it, before anything is allocated.
#include <gtest/gtest.h>

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/error.hpp"
#include "stload/loader.hpp"
#include "stload/log.hpp"
#include "stload/plan.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"

namespace stload {
namespace {

using testing::make_safetensors;
using testing::pattern_bytes;
using testing::TempDir;
using testing::TestTensor;

TestTensor u8(std::string name) {
  return {std::move(name), "U8", {4}, pattern_bytes(4, 1)};
}

class PlanOnly : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.write("llama.safetensors",
                       make_safetensors({u8("model.embed.weight"), u8("model.layers.1.mlp.w"),
                                         u8("model.layers.1.attn.w"), u8("model.layers.10.mlp.w"),
                                         u8("model.layers.2.mlp.w"), u8("lm_head.weight")}));
    checkpoint_.emplace(Checkpoint::open(path_));
  }

  std::vector<std::string> planned(const PlanOptions& options) const {
    const LoadPlan plan = make_plan(*checkpoint_, options);
    std::vector<std::string> names;
    for (const PlannedTensor& t : plan.tensors)
      names.push_back(checkpoint_->tensors()[t.tensor].info.name);
    return names;
  }

  std::string plan_error(const PlanOptions& options) const {
    try {
      static_cast<void>(make_plan(*checkpoint_, options));
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "the plan was made";
    return {};
  }

  TempDir dir_;
  std::filesystem::path path_;
  std::optional<Checkpoint> checkpoint_;  // opened in SetUp
};

TEST_F(PlanOnly, prefix_stops_at_a_dot_and_glob_stays_in_its_segment) {
  PlanOptions options;
  options.only = {"model.layers.1"};
  EXPECT_EQ(planned(options),
            (std::vector<std::string>{"model.layers.1.mlp.w", "model.layers.1.attn.w"}));
  options.only = {"model.layers.*.mlp", "lm_head.weight"};
  EXPECT_EQ(planned(options),
            (std::vector<std::string>{"model.layers.1.mlp.w", "model.layers.10.mlp.w",
                                      "model.layers.2.mlp.w", "lm_head.weight"}));
}

TEST_F(PlanOnly, typo_among_patterns_fails_naming_only_it_and_the_checkpoint) {
  PlanOptions options;
  options.only = {"lm_head", "model.layrs.1", "model.embed"};
  const std::string message = plan_error(options);
  EXPECT_NE(message.find("'model.layrs.1'"), std::string::npos) << message;
  EXPECT_EQ(message.find("'lm_head'"), std::string::npos) << message;
  EXPECT_NE(message.find(path_.string()), std::string::npos) << message;
}

TEST_F(PlanOnly, every_unmatched_pattern_is_named_at_once) {
  PlanOptions options;
  options.only = {"a.b", "lm_head", "x*"};
  const std::string message = plan_error(options);
  EXPECT_NE(message.find("'a.b'"), std::string::npos) << message;
  EXPECT_NE(message.find("'x*'"), std::string::npos) << message;
}

TEST_F(PlanOnly, allow_unmatched_accepts_a_typo_and_an_empty_selection) {
  PlanOptions options;
  options.only = {"lm_head", "model.layrs.1"};
  options.allow_unmatched = true;
  EXPECT_EQ(planned(options), (std::vector<std::string>{"lm_head.weight"}));
  options.only = {"nothing.here"};
  EXPECT_TRUE(planned(options).empty());
}

TEST_F(PlanOnly, invalid_pattern_is_invalid_argument_even_when_unmatched_is_allowed) {
  PlanOptions options;
  options.allow_unmatched = true;
  for (const char* bad : {"model.layers.", ".x", "a..b", "model.**", ""}) {
    options.only = {bad};
    const std::string message = plan_error(options);
    EXPECT_NE(message.find("only"), std::string::npos) << message;
  }
}

TEST_F(PlanOnly, filter_selecting_nothing_fails_unless_allowed) {
  PlanOptions options;
  options.filter = [](std::string_view) { return false; };
  EXPECT_NE(plan_error(options).find("selects no tensor"), std::string::npos);
  options.allow_unmatched = true;
  EXPECT_TRUE(planned(options).empty());
}

TEST_F(PlanOnly, only_and_filter_must_both_accept) {
  PlanOptions options;
  options.only = {"model.layers.*"};
  options.filter = [](std::string_view name) { return name.ends_with(".mlp.w"); };
  EXPECT_EQ(planned(options),
            (std::vector<std::string>{"model.layers.1.mlp.w", "model.layers.10.mlp.w",
                                      "model.layers.2.mlp.w"}));
}

TEST_F(PlanOnly, load_applies_only_and_refuses_a_typo_before_loading) {
  LoadOptions options;
  options.engine = EngineKind::Cpu;
  options.only = {"model.layers.2"};
  const LoadedModel model = load(*checkpoint_, options);
  ASSERT_EQ(model.tensors().size(), 1U);
  options.only = {"model.layers.3"};
  try {
    static_cast<void>(load(*checkpoint_, options));
    ADD_FAILURE() << "loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("'model.layers.3'"), std::string::npos) << e.what();
  }
}

// Device map rules that place nothing are warned about (accelerate ignores them; a typo is
// likely), not refused.
class CapturedLog {
 public:
  CapturedLog() {
    set_log_handler([this](LogLevel level, std::string_view message) {
      const std::lock_guard lock(mutex_);
      if (level == LogLevel::Warning) warnings_.emplace_back(message);
    });
  }
  ~CapturedLog() { set_log_handler(nullptr); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;
  std::vector<std::string> warnings() {
    const std::lock_guard lock(mutex_);
    return warnings_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> warnings_;
};

TEST_F(PlanOnly, device_map_rule_placing_nothing_is_a_warning_naming_it) {
  CapturedLog log;
  PlanOptions options;
  options.device_map =
      DeviceMap::parse(R"({"model.layrs.1": "cpu:1", "model.layers.*": "cpu:1", "": "cpu"})");
  EXPECT_EQ(planned(options).size(), 6U);
  const auto warnings = log.warnings();
  ASSERT_EQ(warnings.size(), 1U);
  EXPECT_NE(warnings[0].find("'model.layrs.1'"), std::string::npos) << warnings[0];
  EXPECT_EQ(warnings[0].find("'model.layers.*'"), std::string::npos) << warnings[0];
}

TEST_F(PlanOnly, device_map_rule_for_a_filtered_out_tensor_is_warned_about_too) {
  CapturedLog log;
  PlanOptions options;
  options.only = {"lm_head"};
  options.device_map = DeviceMap::parse(R"({"lm_head": "cpu", "model.embed": "cpu:1"})");
  EXPECT_EQ(planned(options), (std::vector<std::string>{"lm_head.weight"}));
  const auto warnings = log.warnings();
  ASSERT_EQ(warnings.size(), 1U);
  EXPECT_NE(warnings[0].find("'model.embed'"), std::string::npos) << warnings[0];
}

}  // namespace
}  // namespace stload
