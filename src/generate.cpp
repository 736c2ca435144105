#include "stload/generate.hpp"

#include <cmath>
#include <cstring>
#include <fstream>

#include "detail/check.hpp"
#include "stload/save.hpp"

namespace stload {
namespace {

struct LlamaShape {
  std::uint64_t hidden, intermediate, vocab, layers;
};

void add(std::vector<TensorSpec>& out, std::string name, std::vector<std::uint64_t> shape,
         Dtype dtype = Dtype::BF16) {
  out.push_back(TensorSpec{std::move(name), dtype, std::move(shape)});
}

std::vector<TensorSpec> llama_tensors(const LlamaShape& s) {
  std::vector<TensorSpec> t;
  add(t, "model.embed_tokens.weight", {s.vocab, s.hidden});
  for (std::uint64_t l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(t, p + "input_layernorm.weight", {s.hidden});
    add(t, p + "self_attn.q_proj.weight", {s.hidden, s.hidden});
    add(t, p + "self_attn.k_proj.weight", {s.hidden / 4, s.hidden});
    add(t, p + "self_attn.v_proj.weight", {s.hidden / 4, s.hidden});
    add(t, p + "self_attn.o_proj.weight", {s.hidden, s.hidden});
    add(t, p + "post_attention_layernorm.weight", {s.hidden});
    add(t, p + "mlp.gate_proj.weight", {s.intermediate, s.hidden});
    add(t, p + "mlp.up_proj.weight", {s.intermediate, s.hidden});
    add(t, p + "mlp.down_proj.weight", {s.hidden, s.intermediate});
  }
  add(t, "model.norm.weight", {s.hidden});
  add(t, "lm_head.weight", {s.vocab, s.hidden});
  return t;
}

std::uint64_t bytes_of(const TensorSpec& t) {
  std::uint64_t n = bit_size(t.dtype) / 8;
  for (const auto d : t.shape) n *= d;
  return n;
}

std::vector<TensorSpec> preset_tensors(const GenerateOptions& options) {
  if (options.preset == "tiny-llama") return llama_tensors({256, 688, 4096, 4});
  if (options.preset == "llama") {
    STLOAD_EXPECT(options.size_gib > 0 && options.size_gib <= 1024, ErrorCode::InvalidArgument,
                  "size must be in (0, 1024] GiB");
    const LlamaShape base{2048, 5632, 32000, 0};
    const auto fixed = llama_tensors(base);
    const auto one = llama_tensors({base.hidden, base.intermediate, base.vocab, 1});
    std::uint64_t fixed_bytes = 0;
    std::uint64_t layer_bytes = 0;
    for (const auto& t : fixed) fixed_bytes += bytes_of(t);
    for (const auto& t : one) layer_bytes += bytes_of(t);
    layer_bytes -= fixed_bytes;
    const double target = options.size_gib * static_cast<double>(1ULL << 30U);
    const double room = std::max(0.0, target - static_cast<double>(fixed_bytes));
    const auto layers = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::llround(room / static_cast<double>(layer_bytes))));
    return llama_tensors({base.hidden, base.intermediate, base.vocab, layers});
  }
  if (options.preset == "many-small") {
    std::vector<TensorSpec> t;
    for (int i = 0; i < 50'000; ++i) {
      add(t, "blocks." + std::to_string(i / 10) + ".p" + std::to_string(i % 10),
          {static_cast<std::uint64_t>(1 + i % 37)}, i % 3 == 0 ? Dtype::F32 : Dtype::BF16);
    }
    return t;
  }
  STLOAD_FAIL(ErrorCode::InvalidArgument,
              "unknown preset '" + options.preset + "' (tiny-llama, llama, many-small)");
}

// splitmix64 of (seed, tensor, word): any block of any tensor can be produced independently.
void fill_bytes(std::uint32_t seed, std::size_t tensor, std::uint64_t offset,
                std::span<std::byte> out) {
  std::uint64_t word = offset / 8;
  std::size_t skip = offset % 8;
  std::size_t i = 0;
  while (i < out.size()) {
    std::uint64_t z = (static_cast<std::uint64_t>(seed) << 48U) ^
                      (static_cast<std::uint64_t>(tensor) << 32U) ^ word;
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    z ^= z >> 31U;
    std::byte bytes[8];
    std::memcpy(bytes, &z, 8);
    const std::size_t take = std::min<std::size_t>(8 - skip, out.size() - i);
    std::memcpy(out.data() + i, bytes + skip, take);
    i += take;
    skip = 0;
    ++word;
  }
}

std::string shard_name(std::uint32_t i, std::uint32_t n) {
  char name[64];
  std::snprintf(name, sizeof name, "model-%05u-of-%05u.safetensors", i + 1, n);
  return name;
}

}  // namespace

std::vector<std::string> generate_presets() {
  return {"tiny-llama", "llama", "many-small"};
}

GeneratedCheckpoint generate(const std::filesystem::path& path, const GenerateOptions& options) {
  const std::vector<TensorSpec> tensors = preset_tensors(options);
  const std::map<std::string, std::string> metadata{
      {"format", "pt"}, {"generator", "stload generate"}, {"preset", options.preset}};
  GeneratedCheckpoint result{path, tensors.size(), 0};
  for (const auto& t : tensors) result.bytes += bytes_of(t);
  STLOAD_EXPECT(options.shards >= 1 && options.shards <= tensors.size(), ErrorCode::InvalidArgument,
                "shards must be between 1 and the tensor count");
  if (options.shards == 1) {
    save(path, tensors, metadata,
         [&](std::size_t i, std::uint64_t offset, std::span<std::byte> out) {
           fill_bytes(options.seed, i, offset, out);
         });
    return result;
  }
  // Shards of about equal bytes, tensors kept in model order; the index maps each to its shard.
  std::filesystem::create_directories(path);
  const std::uint64_t per_shard = (result.bytes + options.shards - 1) / options.shards;
  std::string weight_map;
  std::size_t first = 0;
  for (std::uint32_t s = 0; s < options.shards; ++s) {
    std::size_t last = first;
    std::uint64_t bytes = 0;
    while (last < tensors.size() && (bytes < per_shard || last == first) &&
           tensors.size() - last > options.shards - s - 1) {
      bytes += bytes_of(tensors[last++]);
    }
    if (s + 1 == options.shards) last = tensors.size();
    const std::span<const TensorSpec> part(tensors.data() + first, last - first);
    const std::string name = shard_name(s, options.shards);
    save(path / name, part, metadata,
         [&](std::size_t i, std::uint64_t offset, std::span<std::byte> out) {
           fill_bytes(options.seed, first + i, offset, out);
         });
    for (const auto& t : part)
      weight_map +=
          (weight_map.empty() ? "" : ",\n    ") + ("\"" + t.name + "\": \"" + name + "\"");
    first = last;
  }
  result.path = path / "model.safetensors.index.json";
  std::ofstream index(result.path);
  index << "{\n  \"metadata\": {\"total_size\": " << result.bytes << "},\n  \"weight_map\": {\n    "
        << weight_map << "\n  }\n}\n";
  STLOAD_EXPECT(static_cast<bool>(index.flush()), ErrorCode::Io,
                "cannot write " + result.path.string());
  return result;
}

}  // namespace stload
