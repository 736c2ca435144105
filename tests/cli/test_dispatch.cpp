#include <gtest/gtest.h>

#include "checkpoint_arg.hpp"
#include "cli_runner.hpp"
#include "load_args.hpp"

namespace stload {
namespace {

using testing::run_cli;

TEST(CliDispatch, no_arguments_prints_usage_to_stderr_and_exits_2) {
  const auto r = run_cli({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("usage: stload <command>"), std::string::npos) << r.err;
}

TEST(CliDispatch, unknown_command_names_it_and_exits_2) {
  const auto r = run_cli({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("usage:"), std::string::npos) << r.err;
}

TEST(CliDispatch, help_lists_every_command_on_stdout) {
  for (const char* spelling : {"--help", "help", "-h"}) {
    const auto r = run_cli({spelling});
    EXPECT_EQ(r.exit_code, 0) << spelling;
    EXPECT_NE(r.out.find("inspect"), std::string::npos) << spelling << ": " << r.out;
    EXPECT_NE(r.out.find("validate"), std::string::npos) << spelling << ": " << r.out;
  }
}

// The help is the CLI's reference: an option the parser accepts but the help omits is a lie by
// omission, so the list is checked against the parser's own table.
TEST(CliDispatch, help_of_load_and_digest_documents_every_load_option) {
  for (const char* command : {"load", "digest"}) {
    const auto r = run_cli({"help", command});
    ASSERT_EQ(r.exit_code, 0) << command;
    for (const auto& option : cli::kLoadOptionSpecs) {
      EXPECT_NE(r.out.find("  " + std::string(option.name)), std::string::npos)
          << command << " help omits " << option.name << ":\n"
          << r.out;
    }
  }
}

TEST(CliDispatch, help_of_every_checkpoint_command_documents_revision_merge_and_repo_ids) {
  for (const char* command : {"inspect", "validate", "load", "digest"}) {
    const auto r = run_cli({"help", command});
    ASSERT_EQ(r.exit_code, 0) << command;
    for (const auto& option : cli::kCheckpointOptionSpecs) {
      EXPECT_NE(r.out.find("  " + std::string(option.name)), std::string::npos)
          << command << " help omits " << option.name << ":\n"
          << r.out;
    }
    EXPECT_NE(r.out.find("ORG/NAME"), std::string::npos) << command << ":\n" << r.out;
  }
}

TEST(CliDispatch, help_for_one_command_shows_its_usage) {
  const auto r = run_cli({"help", "inspect"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("usage: stload inspect PATH [--json]"), std::string::npos) << r.out;
  const auto flag = run_cli({"validate", "--help"});
  EXPECT_EQ(flag.exit_code, 0);
  EXPECT_NE(flag.out.find("usage: stload validate"), std::string::npos) << flag.out;
}

TEST(CliDispatch, version_prints_the_project_version) {
  const auto r = run_cli({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, std::string("stload ") + STLOAD_EXPECTED_VERSION + "\n");
}

TEST(CliDispatch, unknown_option_is_a_usage_error) {
  const auto r = run_cli({"inspect", "--jsn", "model.safetensors"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown option '--jsn'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace stload
