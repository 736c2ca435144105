// `stload inspect|validate|load|digest ORG/NAME [--revision REV]`: repo ids resolved in a hub cache
// laid out as huggingface_hub lays it out, never the network; --merge; notes on stderr and in
// --json.

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <rapidjson/document.h>

#include "cli_runner.hpp"
#include "support/hub_cache.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"

namespace stload {
namespace {

namespace fs = std::filesystem;
using testing::HubRepoWriter;
using testing::kCommitA;
using testing::kCommitB;
using testing::make_safetensors;
using testing::pattern_bytes;
using testing::run_cli;
using testing::ScopedEnv;
using testing::TempDir;

const std::string kShard1 = "model-00001-of-00002.safetensors";
const std::string kShard2 = "model-00002-of-00002.safetensors";

class CliHub : public ::testing::Test {
 protected:
  CliHub()
      : hub_cache_("HF_HUB_CACHE", cache_.path().c_str()),
        old_name_("HUGGINGFACE_HUB_CACHE", nullptr),
        hf_home_("HF_HOME", nullptr) {
    sharded_.add_file(kCommitA, kShard1,
                      make_safetensors({{"embed", "U8", {6}, pattern_bytes(6, 1)}}));
    sharded_.add_file(kCommitA, kShard2,
                      make_safetensors({{"head", "U8", {4}, pattern_bytes(4, 2)}}));
    sharded_.add_text(
        kCommitA, "model.safetensors.index.json",
        R"({"weight_map":{"embed":")" + kShard1 + R"(","head":")" + kShard2 + R"("}})");
    sharded_.set_ref("main", kCommitA);
    single_.add_file(kCommitA, "model.safetensors",
                     make_safetensors({{"w", "U8", {3}, pattern_bytes(3, 3)}}));
    single_.set_ref("main", kCommitA);
    single_.add_file(kCommitB, "model.safetensors",
                     make_safetensors({{"w2", "U8", {5}, pattern_bytes(5, 4)}}));
    single_.set_ref("v2", kCommitB);
  }

  TempDir cache_;
  ScopedEnv hub_cache_;
  ScopedEnv old_name_;
  ScopedEnv hf_home_;
  HubRepoWriter sharded_{cache_.path(), "acme/tiny-llama"};
  HubRepoWriter single_{cache_.path(), "acme/single"};
};

rapidjson::Document strict_json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.c_str(), text.size());
  EXPECT_FALSE(doc.HasParseError()) << text;
  return doc;
}

TEST_F(CliHub, every_command_takes_a_repo_id_from_the_cache) {
  const auto validate = run_cli({"validate", "acme/tiny-llama"});
  EXPECT_EQ(validate.exit_code, 0) << validate.err;
  EXPECT_EQ(validate.out, "acme/tiny-llama: OK (2 tensors, 10 bytes)\n");

  const auto inspect = run_cli({"inspect", "--json", "acme/tiny-llama"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  const auto doc = strict_json(inspect.out);
  ASSERT_EQ(doc["files"].Size(), 2U);
  // The file is shown by its name in the snapshot; the blob it links to beside it.
  EXPECT_EQ(std::string(doc["files"][0]["path"].GetString()),
            (sharded_.snapshot(kCommitA) / kShard1).string());
  EXPECT_NE(std::string(doc["files"][0]["target"].GetString()).find("/blobs/"), std::string::npos);

  const auto load = run_cli({"load", "acme/tiny-llama", "--engine", "cpu", "--json"});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_EQ(strict_json(load.out)["tensors"].GetUint64(), 2U);

  const auto digest = run_cli({"digest", "acme/single", "--engine", "cpu"});
  ASSERT_EQ(digest.exit_code, 0) << digest.err;
  EXPECT_NE(digest.out.find("  w\n"), std::string::npos) << digest.out;
}

TEST_F(CliHub, revision_by_ref_name_and_by_commit_hash) {
  for (const std::string& revision : {std::string("v2"), std::string(kCommitB)}) {
    const auto r = run_cli({"inspect", "--json", "acme/single", "--revision", revision});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto doc = strict_json(r.out);
    EXPECT_EQ(std::string(doc["tensors"][0]["name"].GetString()), "w2") << revision;
  }
}

TEST_F(CliHub, cache_is_found_through_hf_home) {
  TempDir home;
  HubRepoWriter repo(home.path() / "hub", "acme/at-home");
  repo.add_file(kCommitA, "model.safetensors",
                make_safetensors({{"h", "U8", {1}, pattern_bytes(1, 5)}}));
  repo.set_ref("main", kCommitA);
  const ScopedEnv no_cache("HF_HUB_CACHE", nullptr);
  const ScopedEnv hf_home("HF_HOME", home.path().c_str());
  const auto r = run_cli({"validate", "acme/at-home"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CliHub, unknown_repo_exits_2_listing_where_it_looked_and_how_to_fetch) {
  const auto r = run_cli({"load", "acme/absent", "--engine", "cpu"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("acme/absent: NotFound: ", 0), 0U) << r.err;
  EXPECT_NE(r.err.find((cache_.path() / "models--acme--absent").string()), std::string::npos);
  EXPECT_NE(r.err.find("huggingface-cli download acme/absent"), std::string::npos) << r.err;
}

TEST_F(CliHub, unknown_revision_exits_2_listing_refs_and_snapshots) {
  const auto r = run_cli({"validate", "acme/single", "--revision", "nope"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find((single_.repo() / "refs" / "nope").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find((single_.repo() / "snapshots" / "nope").string()), std::string::npos);
  EXPECT_NE(r.err.find("--revision nope"), std::string::npos) << r.err;
}

TEST_F(CliHub, a_path_on_disk_wins_over_a_repo_id_of_the_same_spelling) {
  TempDir work;
  work.write("acme/single/model.safetensors",
             make_safetensors({{"local", "U8", {2}, pattern_bytes(2, 6)}}));
  const fs::path before = fs::current_path();
  fs::current_path(work.path());
  const auto r = run_cli({"inspect", "--json", "acme/single"});
  const auto with_revision = run_cli({"validate", "acme/single", "--revision", "v2"});
  fs::current_path(before);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::string(strict_json(r.out)["tensors"][0]["name"].GetString()), "local");
  EXPECT_EQ(with_revision.exit_code, 2);  // --revision belongs to repo ids, not paths
  EXPECT_NE(with_revision.err.find("--revision"), std::string::npos) << with_revision.err;
}

TEST_F(CliHub, unrelated_files_are_refused_unless_merge_is_given) {
  TempDir dir;
  dir.write("model.safetensors", make_safetensors({{"base", "U8", {1}, pattern_bytes(1, 1)}}));
  dir.write("adapter_model.safetensors",
            make_safetensors({{"lora", "U8", {1}, pattern_bytes(1, 2)}}));
  const auto refused = run_cli({"validate", dir.path().string()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("InvalidArgument"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("adapter_model.safetensors"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--merge"), std::string::npos) << refused.err;

  const auto merged =
      run_cli({"load", dir.path().string(), "--merge", "--engine", "cpu", "--json"});
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  EXPECT_EQ(strict_json(merged.out)["tensors"].GetUint64(), 2U);
  EXPECT_NE(merged.err.find("note: "), std::string::npos) << merged.err;
}

TEST_F(CliHub, single_file_beside_its_index_is_chosen_with_a_note_on_stderr_and_in_json) {
  TempDir dir;
  dir.write("model.safetensors", make_safetensors({{"single", "U8", {1}, pattern_bytes(1, 1)}}));
  dir.write(kShard1, make_safetensors({{"a", "U8", {1}, pattern_bytes(1, 2)}}));
  dir.write_text("model.safetensors.index.json", R"({"weight_map":{"a":")" + kShard1 + R"("}})");
  const auto r = run_cli({"load", dir.path().string(), "--engine", "cpu", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = strict_json(r.out);
  EXPECT_EQ(doc["tensors"].GetUint64(), 1U);
  ASSERT_EQ(doc["notes"].Size(), 1U);
  EXPECT_NE(std::string(doc["notes"][0].GetString()).find("transformers"), std::string::npos);
  EXPECT_NE(r.err.find(dir.path().string() + ": note: "), std::string::npos) << r.err;
}

TEST_F(CliHub, dangling_blob_link_is_reported_as_such) {
  fs::remove_all(sharded_.repo() / "blobs");
  const auto r = run_cli({"validate", "acme/tiny-llama"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("dangling symlink"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("../../blobs/"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace stload
