// Checkpoints in a Hugging Face hub cache, laid out exactly as huggingface_hub lays it out
// (support/hub_cache.hpp): snapshots are relative symlinks into blobs/, which an index's plain
// shard names must be allowed to follow; repo ids resolve through refs/ to snapshots/.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/hub.hpp"
#include "support/hub_cache.hpp"
#include "support/safetensors_writer.hpp"
#include "support/temp_dir.hpp"
#include "test_checkpoint_support.hpp"

namespace stload {
namespace {

namespace fs = std::filesystem;
using testing::HubRepoWriter;
using testing::kCommitA;
using testing::kCommitB;
using testing::make_safetensors;
using testing::pattern_bytes;
using testing::ScopedEnv;
using testing::sha256_hex;
using testing::TempDir;
using testing::throws_error;

const std::string kShard1 = "model-00001-of-00002.safetensors";
const std::string kShard2 = "model-00002-of-00002.safetensors";
const std::string kIndex = "model.safetensors.index.json";
const std::string kUnetFile = "diffusion_pytorch_model.safetensors";

class HubCache : public ::testing::Test {
 protected:
  HubCache()
      : hub_cache_("HF_HUB_CACHE", cache_.path().c_str()),
        old_name_("HUGGINGFACE_HUB_CACHE", nullptr),
        hf_home_("HF_HOME", nullptr),
        xdg_("XDG_CACHE_HOME", nullptr) {
    shard1_ = make_safetensors({{"model.embed.weight", "U8", {6}, pattern_bytes(6, 1)}});
    shard2_ = make_safetensors({{"lm_head.weight", "U8", {4}, pattern_bytes(4, 2)}});
    sharded_.add_file(kCommitA, kShard1, shard1_);
    sharded_.add_file(kCommitA, kShard2, shard2_);
    sharded_.add_text(kCommitA, kIndex,
                      R"({"metadata":{"total_size":10},"weight_map":{"model.embed.weight":")" +
                          kShard1 + R"(","lm_head.weight":")" + kShard2 + R"("}})");
    sharded_.add_text(kCommitA, "config.json", "{}");
    sharded_.set_ref("main", kCommitA);

    single_bytes_ = make_safetensors({{"w", "U8", {3}, pattern_bytes(3, 3)}});
    single_.add_file(kCommitA, "model.safetensors", single_bytes_);
    single_.set_ref("main", kCommitA);
    // A second revision, reachable by a tag and by its hash.
    single_.add_file(kCommitB, "model.safetensors",
                     make_safetensors({{"w2", "U8", {5}, pattern_bytes(5, 4)}}));
    single_.set_ref("v2", kCommitB);

    unet_bytes_ = make_safetensors({{"conv_in.weight", "U8", {8}, pattern_bytes(8, 5)}});
    diffusers_.add_text(kCommitA, "model_index.json", "{}");
    diffusers_.add_file(kCommitA, "unet/" + kUnetFile, unet_bytes_);
    diffusers_.add_text(kCommitA, "unet/config.json", "{}");
    diffusers_.set_ref("main", kCommitA);
  }

  fs::path blob_of(const HubRepoWriter& repo, const std::vector<std::byte>& bytes) const {
    return fs::canonical(repo.repo() / "blobs" / sha256_hex(bytes));
  }

  TempDir cache_;
  ScopedEnv hub_cache_;
  ScopedEnv old_name_;
  ScopedEnv hf_home_;
  ScopedEnv xdg_;
  HubRepoWriter sharded_{cache_.path(), "acme/tiny-llama"};
  HubRepoWriter single_{cache_.path(), "acme/single"};
  HubRepoWriter diffusers_{cache_.path(), "acme/diffusion"};
  std::vector<std::byte> shard1_, shard2_, single_bytes_, unet_bytes_;
};

TEST_F(HubCache, layout_is_huggingface_hubs) {
  // What the other tests stand on: relative links into blobs/<sha256>, refs/main a bare hash.
  const fs::path link = sharded_.snapshot(kCommitA) / kShard1;
  ASSERT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(fs::read_symlink(link), fs::path("../../blobs") / sha256_hex(shard1_));
  EXPECT_EQ(fs::read_symlink(diffusers_.snapshot(kCommitA) / "unet" / kUnetFile),
            fs::path("../../../blobs") / sha256_hex(unet_bytes_));
  EXPECT_EQ(sha256_hex(shard1_).size(), 64U);
  EXPECT_EQ(fs::file_size(sharded_.repo() / "refs" / "main"), 40U);
}

TEST_F(HubCache, sharded_snapshot_loads_given_as_its_directory) {
  const fs::path snapshot = sharded_.snapshot(kCommitA);
  const Checkpoint ckpt = Checkpoint::open(snapshot);
  ASSERT_EQ(ckpt.files().size(), 2U);
  // Paths as the user sees them (the snapshot's names); the blobs as targets.
  EXPECT_EQ(ckpt.files()[0].path, snapshot / kShard1);
  EXPECT_EQ(ckpt.files()[1].path, snapshot / kShard2);
  EXPECT_EQ(ckpt.files()[0].target, blob_of(sharded_, shard1_));
  EXPECT_EQ(ckpt.files()[1].target, blob_of(sharded_, shard2_));
  const auto bytes = ckpt.tensor_bytes(ckpt.at("lm_head.weight"));
  const auto want = pattern_bytes(4, 2);
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), want.begin(), want.end()));
  EXPECT_TRUE(ckpt.notes().empty());
}

TEST_F(HubCache, sharded_snapshot_loads_given_as_its_index_file) {
  const fs::path snapshot = sharded_.snapshot(kCommitA);
  const Checkpoint ckpt = Checkpoint::open(snapshot / kIndex);
  ASSERT_EQ(ckpt.files().size(), 2U);
  EXPECT_EQ(ckpt.files()[0].path, snapshot / kShard1);
  EXPECT_EQ(ckpt.tensors().size(), 2U);
}

TEST_F(HubCache, single_file_snapshot_loads_as_directory_and_file) {
  const fs::path snapshot = single_.snapshot(kCommitA);
  for (const fs::path& path : {snapshot, snapshot / "model.safetensors"}) {
    const Checkpoint ckpt = Checkpoint::open(path);
    ASSERT_EQ(ckpt.files().size(), 1U) << path;
    EXPECT_EQ(ckpt.files()[0].path, snapshot / "model.safetensors");
    EXPECT_EQ(ckpt.files()[0].target, blob_of(single_, single_bytes_));
    EXPECT_NE(ckpt.find("w"), nullptr);
  }
}

TEST_F(HubCache, diffusers_subfolder_loads_through_three_levels_of_links) {
  const fs::path unet = diffusers_.snapshot(kCommitA) / "unet";
  const Checkpoint ckpt = Checkpoint::open(unet);
  ASSERT_EQ(ckpt.files().size(), 1U);
  EXPECT_EQ(ckpt.files()[0].path, unet / kUnetFile);
  EXPECT_EQ(ckpt.files()[0].target, blob_of(diffusers_, unet_bytes_));
  EXPECT_NE(ckpt.find("conv_in.weight"), nullptr);
}

TEST_F(HubCache, diffusers_snapshot_root_points_to_its_subfolders) {
  const fs::path root = diffusers_.snapshot(kCommitA);
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(root); }, ErrorCode::NotFound,
                           {root.string(), "unet"}));
}

TEST_F(HubCache, weight_map_name_reaching_into_blobs_is_still_invalid_index) {
  // The links are the directory's own; an index naming ../../blobs/<sha> is choosing a path.
  const std::string sha = sha256_hex(shard2_);
  const auto index = sharded_.add_text(
      kCommitB, kIndex, R"({"weight_map":{"lm_head.weight":"../../blobs/)" + sha + R"("}})");
  EXPECT_TRUE(
      throws_error([&] { (void)Checkpoint::open(index); }, ErrorCode::InvalidIndex, {"'..'"}));
  const auto absolute = sharded_.add_text(
      "c0ffee", kIndex,
      R"({"weight_map":{"lm_head.weight":")" + blob_of(sharded_, shard2_).string() + R"("}})");
  EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(absolute); }, ErrorCode::InvalidIndex,
                           {"relative file name"}));
}

TEST_F(HubCache, missing_blob_is_a_dangling_symlink_naming_link_and_target) {
  const fs::path snapshot = sharded_.snapshot(kCommitA);
  const fs::path blob = sharded_.repo() / "blobs" / sha256_hex(shard2_);
  fs::remove(blob);
  const fs::path link = snapshot / kShard2;
  for (const fs::path& path : {snapshot, snapshot / kIndex, link}) {
    EXPECT_TRUE(throws_error([&] { (void)Checkpoint::open(path); }, ErrorCode::NotFound,
                             {link.string(), "dangling symlink", sha256_hex(shard2_)}))
        << path;
  }
}

TEST_F(HubCache, resolve_repo_follows_refs_main_to_the_snapshot) {
  EXPECT_EQ(resolve_repo("acme/tiny-llama"), sharded_.snapshot(kCommitA));
  EXPECT_EQ(resolve_repo("acme/tiny-llama", "main"), sharded_.snapshot(kCommitA));
  EXPECT_EQ(Checkpoint::open(resolve_repo("acme/tiny-llama")).tensors().size(), 2U);
}

TEST_F(HubCache, resolve_repo_takes_a_ref_name_or_a_commit_hash) {
  EXPECT_EQ(resolve_repo("acme/single", "v2"), single_.snapshot(kCommitB));
  EXPECT_EQ(resolve_repo("acme/single", kCommitB), single_.snapshot(kCommitB));
  EXPECT_NE(Checkpoint::open(resolve_repo("acme/single", "v2")).find("w2"), nullptr);
}

TEST_F(HubCache, cache_is_found_through_hf_home_when_hf_hub_cache_is_unset) {
  TempDir home;
  HubRepoWriter repo(home.path() / "hub", "acme/elsewhere");
  repo.add_file(kCommitA, "model.safetensors", single_bytes_);
  repo.set_ref("main", kCommitA);
  const ScopedEnv no_cache("HF_HUB_CACHE", nullptr);
  const ScopedEnv hf_home("HF_HOME", home.path().c_str());
  EXPECT_EQ(hub_cache().chosen_by, "HF_HOME");
  EXPECT_EQ(resolve_repo("acme/elsewhere"), repo.snapshot(kCommitA));
  // HF_HUB_CACHE, when set, wins over HF_HOME, as in huggingface_hub.
  const ScopedEnv back("HF_HUB_CACHE", cache_.path().c_str());
  EXPECT_TRUE(throws_error([&] { (void)resolve_repo("acme/elsewhere"); }, ErrorCode::NotFound,
                           {cache_.path().string()}));
}

TEST_F(HubCache, cache_directory_follows_huggingface_hubs_order) {
  const ScopedEnv home("HOME", "/home/someone");
  {
    const ScopedEnv unset("HF_HUB_CACHE", nullptr);
    EXPECT_EQ(hub_cache().path, fs::path("/home/someone/.cache/huggingface/hub"));
    EXPECT_EQ(hub_cache().chosen_by, "the default");
    const ScopedEnv xdg("XDG_CACHE_HOME", "/xdg");
    EXPECT_EQ(hub_cache().path, fs::path("/xdg/huggingface/hub"));
    const ScopedEnv hf_home("HF_HOME", "~/hf");
    EXPECT_EQ(hub_cache().path, fs::path("/home/someone/hf/hub"));
    const ScopedEnv old_name("HUGGINGFACE_HUB_CACHE", "/old");
    EXPECT_EQ(hub_cache().path, fs::path("/old"));
    EXPECT_EQ(hub_cache().chosen_by, "HUGGINGFACE_HUB_CACHE");
    const ScopedEnv empty("HF_HUB_CACHE", "");  // empty counts as unset
    EXPECT_EQ(hub_cache().path, fs::path("/old"));
  }
  EXPECT_EQ(hub_cache().path, cache_.path());
  EXPECT_EQ(hub_cache().chosen_by, "HF_HUB_CACHE");
}

TEST_F(HubCache, unknown_repo_is_not_found_listing_where_it_looked_and_how_to_fetch_it) {
  EXPECT_TRUE(throws_error([&] { (void)resolve_repo("acme/absent"); }, ErrorCode::NotFound,
                           {(cache_.path() / "models--acme--absent").string(), "HF_HUB_CACHE",
                            "huggingface-cli download acme/absent", "never downloads"}));
}

TEST_F(HubCache, unknown_revision_is_not_found_listing_refs_and_snapshots_looked_at) {
  const fs::path repo = single_.repo();
  EXPECT_TRUE(throws_error(
      [&] { (void)resolve_repo("acme/single", "nope"); }, ErrorCode::NotFound,
      {(repo / "refs" / "nope").string(), (repo / "snapshots" / "nope").string(), "main, v2",
       std::string(kCommitB), "huggingface-cli download acme/single --revision nope"}));
}

TEST_F(HubCache, ref_to_a_snapshot_not_downloaded_is_not_found_naming_the_commit) {
  single_.set_ref("v3", "abababababababababababababababababababab");
  EXPECT_TRUE(throws_error([&] { (void)resolve_repo("acme/single", "v3"); }, ErrorCode::NotFound,
                           {"abababababababababababababababababababab", "refs"}));
}

TEST_F(HubCache, ref_that_names_a_path_is_invalid_argument) {
  single_.set_ref("evil", "../../models--acme--tiny-llama/snapshots/" + std::string(kCommitA));
  EXPECT_TRUE(throws_error([&] { (void)resolve_repo("acme/single", "evil"); },
                           ErrorCode::InvalidArgument, {"evil", "commit"}));
}

TEST_F(HubCache, revision_climbing_out_of_refs_is_invalid_argument) {
  for (const char* revision : {"../../../etc", "/etc/passwd", "a//b", ".."}) {
    EXPECT_TRUE(throws_error([&] { (void)resolve_repo("acme/single", revision); },
                             ErrorCode::InvalidArgument, {"revision"}))
        << revision;
  }
}

TEST_F(HubCache, malformed_repo_id_is_invalid_argument) {
  for (const char* id : {"", "a/b/c", "../x", "acme/../x", "acme--x/y", "acme/x.git", "/abs",
                         "acme/", "-acme/x", "acme/x y"}) {
    EXPECT_FALSE(is_repo_id(id)) << id;
    EXPECT_TRUE(throws_error([&] { (void)resolve_repo(id); }, ErrorCode::InvalidArgument)) << id;
  }
  for (const char* id : {"gpt2", "acme/tiny-llama", "meta-llama/Llama-3.1-8B", "a_b/c.d-e"}) {
    EXPECT_TRUE(is_repo_id(id)) << id;
  }
}

}  // namespace
}  // namespace stload
