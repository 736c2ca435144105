"""iter_tensors yields what load_file returns, one shard at a time."""

from __future__ import annotations

import gc

import pytest

import stload
from stload import _stload


def test_yields_every_tensor_in_file_order(model_file):
    path, written = model_file
    seen = [(name, tensor.tobytes()) for name, tensor in stload.iter_tensors(path, framework="np")]
    assert seen == [(name, raw) for name, (_, _, raw) in written.items()]


def test_torch_tensors_equal_load_file(dtypes_file):
    torch = pytest.importorskip("torch")
    from st_files import torch_bytes

    path, _ = dtypes_file
    whole = stload.load_file(path)
    count = 0
    for name, tensor in stload.iter_tensors(path):
        assert isinstance(tensor, torch.Tensor)
        assert tensor.dtype == whole[name].dtype and tensor.shape == whole[name].shape, name
        assert torch_bytes(tensor) == torch_bytes(whole[name]), name
        count += 1
    assert count == len(whole)


def test_sharded_checkpoint_is_loaded_one_shard_at_a_time(sharded):
    index, written, weight_map = sharded
    before = _stload._live_models()
    names, files = [], []
    for name, tensor in stload.iter_tensors(index, framework="np"):
        gc.collect()
        # The consumer drops each tensor: only the current shard's memory is alive.
        assert _stload._live_models() == before + 1
        assert tensor.tobytes() == written[name][2]
        names.append(name)
        files.append(weight_map[name])
        del tensor
    gc.collect()
    assert _stload._live_models() == before
    assert sorted(names) == sorted(written)
    assert files == sorted(files)  # shard by shard


def test_only_filters_across_shards(sharded):
    index, written, _ = sharded
    got = {name for name, _ in stload.iter_tensors(index, only=["model.layers.3", "lm_head"],
                                                   framework="np")}
    assert got == {n for n in written if n.startswith(("model.layers.3.", "lm_head."))}


def test_bad_path_fails_at_the_call(tmp_path):
    with pytest.raises(FileNotFoundError):
        stload.iter_tensors(tmp_path / "missing.safetensors", framework="np")
