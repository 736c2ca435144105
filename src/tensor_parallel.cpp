#include "stload/tensor_parallel.hpp"

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

}  // namespace stload
