"""CPU tensors as views of the file (zero_copy, load_file's default, as the reference's are)."""

from __future__ import annotations

import gc
import json
import os
import struct

import numpy as np
import pytest

import stload
from stload import _stload
from st_files import torch_bytes, write_safetensors


def mapped_paths():
    """Files this process maps, from /proc/self/maps."""
    paths = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            parts = line.split(maxsplit=5)
            if len(parts) == 6:
                paths.add(parts[5].strip())
    return paths


def test_numpy_arrays_are_views_of_the_file_and_writes_stay_private(model_file):
    path, written = model_file
    before = open(path, "rb").read()
    loaded = stload.load_file(path, framework="np")
    assert str(path) in mapped_paths() or os.path.realpath(path) in mapped_paths()
    for name, (_, _, raw) in written.items():
        assert loaded[name].tobytes() == raw, name
        assert loaded[name].flags.writeable, name
    array = loaded["model.embed_tokens.weight"]
    array.view(np.uint8)[:] = 0x5A  # copy-on-write: this process's pages only
    assert set(array.view(np.uint8).ravel().tolist()) == {0x5A}
    assert open(path, "rb").read() == before
    again = stload.load_file(path, framework="np")
    assert again["model.embed_tokens.weight"].tobytes() == written["model.embed_tokens.weight"][2]


def test_views_keep_the_mapping_after_the_file_is_unlinked(model_file):
    path, written = model_file
    before = _stload._live_models()
    kept = stload.load_file(path, framework="np")["lm_head.weight"]
    os.unlink(path)  # the mapping keeps the inode
    gc.collect()
    assert _stload._live_models() == before + 1
    assert kept.tobytes() == written["lm_head.weight"][2]
    del kept
    gc.collect()
    assert _stload._live_models() == before


def test_zero_copy_false_copies_every_tensor(model_file):
    path, written = model_file
    loaded = stload.load_file(path, framework="np", zero_copy=False)
    os.truncate(path, 8)  # the copies no longer need the file
    for name, (_, _, raw) in written.items():
        assert loaded[name].tobytes() == raw, name


def test_unaligned_tensor_is_copied_aligned(tmp_path):
    # A U8[3] first leaves the F32 tensor after it at an offset that is not a multiple of 4.
    raw = struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)
    tensors = {"odd": ("U8", [3], b"abc"), "f32": ("F32", [4], raw)}
    path = tmp_path / "unaligned.safetensors"
    write_safetensors(path, tensors)
    header_len = struct.unpack("<Q", open(path, "rb").read(8))[0]
    assert (8 + header_len + 3) % 4 != 0
    loaded = stload.load_file(path, framework="np")
    assert loaded["f32"].ctypes.data % 4 == 0
    assert loaded["f32"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert loaded["odd"].tobytes() == b"abc"


def test_torch_tensors_are_views_and_equal_the_reference(model_file):
    torch = pytest.importorskip("torch")
    path, written = model_file
    loaded = stload.load_file(path)
    for name, (_, _, raw) in written.items():
        assert torch_bytes(loaded[name]) == raw, name
    loaded["lm_head.weight"].add_(1)  # writable, as the reference's tensors are
    assert stload.load_file(path)["lm_head.weight"].equal(
        stload.load_file(path, zero_copy=False)["lm_head.weight"]
    )


def test_safe_open_get_tensor_views_the_file(model_file):
    path, written = model_file
    with stload.safe_open(path, framework="np") as f:
        for name in f.keys():
            assert f.get_tensor(name).tobytes() == written[name][2], name
