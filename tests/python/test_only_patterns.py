"""`only=` takes the library's name patterns (exact name, dotted prefix, `*` within one dotted
segment), as the C++ LoadOptions::only, the C API and the CLI's --only do; a pattern matching no
tensor raises InvalidArgumentError naming it, unless allow_unmatched=True."""
from __future__ import annotations

import pytest

import stload
from st_files import write_safetensors

NAMES = ["model.embed.weight", "model.layers.1.mlp.w", "model.layers.1.attn.w",
         "model.layers.10.mlp.w", "model.layers.2.mlp.w", "lm_head.weight"]


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "patterns.safetensors"
    write_safetensors(path, {name: ("F32", [1], bytes(4)) for name in NAMES})
    return path


def test_glob_stays_within_one_segment(model):
    loaded = stload.load_file(model, only="model.layers.*.mlp", framework="np")
    assert list(loaded) == ["model.layers.1.mlp.w", "model.layers.10.mlp.w",
                            "model.layers.2.mlp.w"]
    # `*` does not reach across dots: "model.*.w" is three segments, the names have four or five.
    with pytest.raises(stload.InvalidArgumentError):
        stload.load_file(model, only="model.*.w", framework="np")


def test_prefix_never_matches_inside_a_segment(model):
    loaded = stload.load_file(model, only=["model.layers.1", "lm_head"], framework="np")
    assert set(loaded) == {"model.layers.1.mlp.w", "model.layers.1.attn.w", "lm_head.weight"}


def test_typo_among_patterns_names_only_it_and_the_file(model):
    with pytest.raises(ValueError) as info:
        stload.load_file(model, only=["lm_head", "model.layrs.1"], framework="np")
    assert isinstance(info.value, stload.InvalidArgumentError)
    message = str(info.value)
    assert "'model.layrs.1'" in message
    assert "'lm_head'" not in message
    assert "patterns.safetensors" in message


def test_allow_unmatched_loads_what_the_others_select(model):
    loaded = stload.load_file(model, only=["lm_head", "model.layrs.1"], framework="np",
                              allow_unmatched=True)
    assert list(loaded) == ["lm_head.weight"]
    assert stload.load_file(model, only="nothing", framework="np", allow_unmatched=True) == {}


@pytest.mark.parametrize("bad", ["model.layers.", ".x", "a..b", "model.**.w"])
def test_invalid_pattern_is_refused_naming_it(model, bad):
    with pytest.raises(stload.InvalidArgumentError) as info:
        stload.load_file(model, only=bad, framework="np", allow_unmatched=True)
    assert repr(bad)[1:-1] in str(info.value)


def test_iter_tensors_pattern_of_one_shard_is_fine_and_a_typo_fails(sharded):
    index, written, weight_map = sharded
    # lm_head lives in the second shard only: the first shard loads nothing and that is no error.
    got = [name for name, _ in stload.iter_tensors(index, only="lm_head", framework="np")]
    assert got == [n for n in written if n.startswith("lm_head.")]
    with pytest.raises(stload.InvalidArgumentError) as info:
        list(stload.iter_tensors(index, only=["lm_head", "lm_hed"], framework="np"))
    assert "'lm_hed'" in str(info.value)
    got = [name for name, _ in stload.iter_tensors(index, only=["lm_head", "lm_hed"],
                                                   framework="np", allow_unmatched=True)]
    assert got == [n for n in written if n.startswith("lm_head.")]


def test_device_map_keys_take_globs(model):
    loaded = stload.load_file(model, device_map={"model.layers.*.mlp": "cpu", "": "cpu"},
                              framework="np")
    assert list(loaded) == NAMES
