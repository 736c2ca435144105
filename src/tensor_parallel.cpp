#include "stload/tensor_parallel.hpp"

#include <rapidjson/document.h>

#include "detail/check.hpp"

namespace stload {

std::vector<std::pair<std::string, std::size_t>> split_rule_set(std::string_view name) {
  if (name == "llama" || name == "qwen" || name == "mistral") {
    // Megatron's layout, as vLLM and TensorRT-LLM shard these names: column-parallel layers split
    // their output features (dim 0 of the [out, in] weight, and the bias), row-parallel layers
    // their input features (dim 1; their bias, if any, is added once and stays whole). The
    // embedding and lm_head split the vocabulary (dim 0).
    return {
        {"model.embed_tokens.weight", 0},          {"lm_head.weight", 0},
        {"model.layers.*.self_attn.q_proj", 0},    {"model.layers.*.self_attn.k_proj", 0},
        {"model.layers.*.self_attn.v_proj", 0},    {"model.layers.*.mlp.gate_proj", 0},
        {"model.layers.*.mlp.up_proj", 0},         {"model.layers.*.self_attn.o_proj.weight", 1},
        {"model.layers.*.mlp.down_proj.weight", 1}};
  }
  STLOAD_FAIL(ErrorCode::InvalidArgument, "unknown split rule set '" + std::string(name) +
                                              "' (known: llama, also called qwen and mistral)");
}

std::vector<std::pair<std::string, std::size_t>> parse_split_rules(std::string_view text) {
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] != '{') return split_rule_set(text);
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  STLOAD_EXPECT(!doc.HasParseError() && doc.IsObject(), ErrorCode::InvalidArgument,
                "split rules are not a JSON object of name patterns to dimensions: " +
                    std::string(text.substr(0, 80)));
  std::vector<std::pair<std::string, std::size_t>> rules;
  for (const auto& member : doc.GetObject()) {
    std::string pattern(member.name.GetString(), member.name.GetStringLength());
    STLOAD_EXPECT(member.value.IsUint(), ErrorCode::InvalidArgument,
                  "split rules: the dimension of '" + pattern + "' must be a whole number");
    rules.emplace_back(std::move(pattern), member.value.GetUint());
  }
  return rules;
}

}  // namespace stload
