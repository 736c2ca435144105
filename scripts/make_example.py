#!/usr/bin/env python3
"""Writes a small Llama-shaped checkpoint with the reference safetensors package: two shards and a
model.safetensors.index.json, as transformers lays them out. Weights are F16 (numpy has no BF16),
norms F32. Usage: make_example.py OUT_DIR [--layers N] [--hidden H]"""

import argparse
import json
import os

import numpy as np
from safetensors.numpy import save_file


def llama_tensors(layers, hidden, vocab, intermediate, rng):
    def weight(*shape):
        return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float16)

    tensors = {"model.embed_tokens.weight": weight(vocab, hidden)}
    for i in range(layers):
        p = "model.layers.%d." % i
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            tensors[p + "self_attn.%s.weight" % name] = weight(hidden, hidden)
        tensors[p + "mlp.gate_proj.weight"] = weight(intermediate, hidden)
        tensors[p + "mlp.up_proj.weight"] = weight(intermediate, hidden)
        tensors[p + "mlp.down_proj.weight"] = weight(hidden, intermediate)
        tensors[p + "input_layernorm.weight"] = np.ones(hidden, np.float32)
        tensors[p + "post_attention_layernorm.weight"] = np.ones(hidden, np.float32)
    tensors["model.norm.weight"] = np.ones(hidden, np.float32)
    tensors["lm_head.weight"] = weight(vocab, hidden)
    return tensors


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=512)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    tensors = llama_tensors(args.layers, args.hidden, vocab=4096, intermediate=args.hidden * 11 // 4,
                            rng=rng)
    names = list(tensors)
    half = len(names) // 2
    shards = [names[:half], names[half:]]
    os.makedirs(args.out_dir, exist_ok=True)
    weight_map = {}
    for k, shard in enumerate(shards):
        file = "model-%05d-of-%05d.safetensors" % (k + 1, len(shards))
        save_file({n: tensors[n] for n in shard}, os.path.join(args.out_dir, file),
                  metadata={"format": "pt"})
        weight_map.update({n: file for n in shard})
    total = sum(t.nbytes for t in tensors.values())
    with open(os.path.join(args.out_dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    print("wrote %d tensors, %.1f MiB in %d shards to %s" % (len(tensors), total / 2**20, len(shards),
                                                            args.out_dir))


if __name__ == "__main__":
    main()
