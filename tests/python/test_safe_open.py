"""safe_open behaves as safetensors.safe_open: keys, metadata, get_tensor, get_slice."""

from __future__ import annotations

import numpy as np
import pytest

import stload
from st_files import torch_bytes


def test_keys_and_metadata_match_safetensors(dtypes_file):
    from safetensors import safe_open as reference_open

    path, written = dtypes_file
    with stload.safe_open(path, framework="np") as ours, reference_open(path, "np") as theirs:
        assert ours.keys() == list(theirs.keys()) == sorted(written)
        assert ours.metadata() == theirs.metadata() == {"format": "pt", "origin": "stload tests"}
    # Data order; tensors at the same offset (empty ones) by name, as the format sorts them.
    offsets, at = {}, 0
    for name, (_, _, raw) in written.items():
        offsets[name] = (at, at + len(raw), name)
        at += len(raw)
    with stload.safe_open(path, framework="np") as ours:
        assert ours.offset_keys() == sorted(written, key=offsets.__getitem__)


def test_metadata_is_none_without_a_metadata_block(model_file):
    path, _ = model_file
    with stload.safe_open(path, framework="np") as f:
        assert f.metadata() is None


def test_get_tensor_matches_safetensors_torch(reference_file):
    torch = pytest.importorskip("torch")
    from safetensors import safe_open as reference_open

    path, written = reference_file
    with stload.safe_open(path, framework="pt") as ours, reference_open(path, "pt") as theirs:
        for name in theirs.keys():
            got, expected = ours.get_tensor(name), theirs.get_tensor(name)
            assert isinstance(got, torch.Tensor)
            assert got.dtype == expected.dtype and got.shape == expected.shape, name
            assert torch_bytes(got) == torch_bytes(expected) == written[name][2], name


def test_get_tensor_numpy_gives_the_written_bytes(dtypes_file):
    path, written = dtypes_file
    with stload.safe_open(path, framework="np") as f:
        for name, (_, _, raw) in written.items():
            assert f.get_tensor(name).tobytes() == raw, name


INDEXES = [
    (slice(0, 2),),
    (slice(None), slice(1, 3)),
    (1,),
    (Ellipsis, -1),
    (slice(1, None), 0),
]


@pytest.mark.parametrize("index", INDEXES, ids=repr)
def test_get_slice_matches_safetensors_slices(model_file, index):
    torch = pytest.importorskip("torch")
    from safetensors import safe_open as reference_open

    path, _ = model_file
    name = "model.layers.1.mlp.up_proj.weight"
    with stload.safe_open(path, framework="pt") as ours, reference_open(path, "pt") as theirs:
        got = ours.get_slice(name)[index]
        expected = theirs.get_slice(name)[index]
        assert got.dtype == expected.dtype == torch.bfloat16
        assert got.shape == expected.shape
        assert torch.equal(got, expected)


def test_get_slice_with_steps_matches_indexing_the_whole_tensor(dtypes_file):
    torch = pytest.importorskip("torch")
    path, _ = dtypes_file
    with stload.safe_open(path, framework="pt") as f:
        for name in ("t.bf16", "t.f8_e4m3", "t.i64", "t.bool", "t.c64"):
            whole = f.get_tensor(name)
            part = f.get_slice(name)[::2, 1::2]
            assert part.dtype == whole.dtype, name
            assert torch_bytes(part) == torch_bytes(whole[::2, 1::2]), name


def test_get_slice_reports_shape_and_dtype(dtypes_file):
    path, _ = dtypes_file
    with stload.safe_open(path, framework="np") as f:
        piece = f.get_slice("t.bf16")
        assert piece.get_shape() == [3, 5]
        assert piece.get_dtype() == "BF16"
        assert len(piece) == 3


def test_get_slice_numpy_matches_safetensors_numpy(tmp_path):
    from safetensors import safe_open as reference_open
    from safetensors.numpy import save_file

    array = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    path = tmp_path / "np.safetensors"
    save_file({"a": array}, str(path))
    with stload.safe_open(path, framework="np") as ours, reference_open(path, "np") as theirs:
        for index in [(slice(0, 2),), (1, slice(1, 3)), (Ellipsis, 2)]:
            got = ours.get_slice("a")[index]
            assert np.array_equal(got, theirs.get_slice("a")[index])
            assert np.array_equal(got, array[index])
            got[...] = -1  # a copy: the file's mapping is never written
        assert np.array_equal(ours.get_tensor("a"), array)


def test_tensors_stay_valid_after_close(model_file):
    path, written = model_file
    with stload.safe_open(path, framework="np") as f:
        tensor = f.get_tensor("lm_head.weight")
        piece = f.get_slice("lm_head.weight")
    assert tensor.tobytes() == written["lm_head.weight"][2]
    with pytest.raises(ValueError):
        piece[0]
    with pytest.raises(ValueError):
        f.get_tensor("lm_head.weight")


def test_get_tensor_loads_only_that_tensor(tmp_path):
    from st_files import write_safetensors

    # A tensor's sibling whose name starts with it must not come along (exact names only).
    path = tmp_path / "prefix.safetensors"
    write_safetensors(path, {"a": ("U8", [1], b"\x07"), "a.b": ("U8", [1], b"\x09")})
    with stload.safe_open(path, framework="np") as f:
        assert f.get_tensor("a").tolist() == [7]
        assert f.get_tensor("a.b").tolist() == [9]


def test_sharded_checkpoint_opens_through_its_index(sharded):
    index, written, _ = sharded
    with stload.safe_open(index, framework="np") as f:
        assert f.keys() == sorted(written)
        for name, (_, _, raw) in written.items():
            assert f.get_tensor(name).tobytes() == raw
            assert f.get_slice(name)[...].tobytes() == raw
