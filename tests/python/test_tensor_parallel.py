"""load_file(tp=(rank, world), split=...): each rank gets its part of the split tensors."""

from __future__ import annotations

import numpy as np
import pytest

import stload
from st_files import write_safetensors


@pytest.fixture
def tp_file(tmp_path):
    rng = np.random.default_rng(7)
    arrays = {
        "model.layers.0.self_attn.q_proj.weight": rng.standard_normal((8, 6)).astype(np.float32),
        "model.layers.0.self_attn.o_proj.weight": rng.standard_normal((6, 8)).astype(np.float32),
        "model.layers.0.input_layernorm.weight": rng.standard_normal(6).astype(np.float32),
        "experts": rng.integers(0, 255, (2, 4, 8), dtype=np.uint8),
    }
    dtypes = {np.float32: "F32", np.uint8: "U8"}
    tensors = {k: (dtypes[v.dtype.type], list(v.shape), v.tobytes()) for k, v in arrays.items()}
    path = tmp_path / "tp.safetensors"
    write_safetensors(path, tensors)
    return path, arrays


@pytest.mark.parametrize("world", [1, 2, 4])
def test_every_rank_gets_the_numpy_slice(tp_file, world):
    path, arrays = tp_file
    split = {"model.layers.*.self_attn.q_proj": 0, "model.layers.*.self_attn.o_proj.weight": 1,
             "experts": 2}
    for rank in range(world):
        got = stload.load_file(path, framework="np", tp=(rank, world), split=split)
        q = arrays["model.layers.0.self_attn.q_proj.weight"]
        o = arrays["model.layers.0.self_attn.o_proj.weight"]
        n = arrays["model.layers.0.input_layernorm.weight"]
        e = arrays["experts"]
        part = lambda size: slice(rank * size // world, (rank + 1) * size // world)
        np.testing.assert_array_equal(got["model.layers.0.self_attn.q_proj.weight"], q[part(8)])
        np.testing.assert_array_equal(got["model.layers.0.self_attn.o_proj.weight"], o[:, part(8)])
        np.testing.assert_array_equal(got["model.layers.0.input_layernorm.weight"], n)
        np.testing.assert_array_equal(got["experts"], e[:, :, part(8)])


def test_named_rule_set_and_errors(tp_file):
    path, arrays = tp_file
    got = stload.load_file(path, framework="np", tp=(1, 2), split="llama")
    np.testing.assert_array_equal(
        got["model.layers.0.self_attn.q_proj.weight"],
        arrays["model.layers.0.self_attn.q_proj.weight"][4:],
    )
    np.testing.assert_array_equal(got["experts"], arrays["experts"])  # no rule: whole
    with pytest.raises(stload.InvalidArgumentError, match="go together"):
        stload.load_file(path, framework="np", tp=(0, 2))
    with pytest.raises(stload.InvalidArgumentError, match="known: llama"):
        stload.load_file(path, framework="np", tp=(0, 2), split="gpt9")
    with pytest.raises(stload.InvalidArgumentError, match="3 equal parts"):
        stload.load_file(path, framework="np", tp=(0, 3), split="llama")
    with pytest.raises(stload.InvalidArgumentError, match="rank 2 of world 2"):
        stload.load_file(path, framework="np", tp=(2, 2), split="llama")
    with pytest.raises(stload.InvalidArgumentError, match="whole number"):
        stload.load_file(path, framework="np", tp=(0, 2), split={"experts": 1.5})
