"""Tensors are handed over without a copy and keep their memory alive by themselves."""

from __future__ import annotations

import gc
import os

import numpy as np
import pytest

import stload
from stload import _stload
from st_files import torch_bytes


def load_model(path, framework):
    return _stload._Checkpoint(os.fsencode(path)).load("cpu", None, False, None, framework == "np")


def test_torch_tensors_view_the_memory_the_loader_wrote(model_file):
    pytest.importorskip("torch")
    path, _ = model_file
    model = load_model(path, "pt")
    tensors = model.export_all("pt")
    for name, pointer, tensor in zip(model.names(), model.pointers(), tensors):
        assert tensor.data_ptr() == pointer, name


def test_numpy_arrays_view_the_memory_the_loader_wrote(model_file):
    path, _ = model_file
    model = load_model(path, "np")
    for name, pointer, array in zip(model.names(), model.pointers(), model.export_all("np")):
        assert array.ctypes.data == pointer, name
        assert array.flags.writeable, name


def test_writes_through_a_tensor_reach_the_loaded_model(model_file):
    torch = pytest.importorskip("torch")
    path, _ = model_file
    model = load_model(path, "pt")
    names = model.names()
    tensors = dict(zip(names, model.export_all("pt")))
    name = "model.layers.2.input_layernorm.weight"
    tensors[name].copy_(torch.arange(tensors[name].numel(), dtype=torch.float32))
    assert model.read(name) == torch_bytes(tensors[name])


def test_tensor_outlives_the_dict_and_the_model(model_file):
    pytest.importorskip("torch")
    path, written = model_file
    before = _stload._live_models()
    loaded = stload.load_file(path)
    assert _stload._live_models() == before + 1
    kept = loaded["lm_head.weight"]
    del loaded
    gc.collect()
    assert _stload._live_models() == before + 1  # the tensor alone holds the memory
    assert torch_bytes(kept) == written["lm_head.weight"][2]
    del kept
    gc.collect()
    assert _stload._live_models() == before


def test_numpy_array_outlives_the_dict(model_file):
    path, written = model_file
    before = _stload._live_models()
    kept = stload.load_file(path, framework="np")["model.embed_tokens.weight"]
    gc.collect()
    assert _stload._live_models() == before + 1
    assert kept.tobytes() == written["model.embed_tokens.weight"][2]
    del kept
    gc.collect()
    assert _stload._live_models() == before


def test_tensors_of_one_load_share_one_allocation(model_file):
    torch = pytest.importorskip("torch")
    path, written = model_file
    loaded = stload.load_file(path, zero_copy=False)  # arenas; views of the file: test_cpu_views
    pointers = sorted((t.data_ptr(), t.numel() * t.element_size()) for t in loaded.values())
    start, end = pointers[0][0], pointers[-1][0] + pointers[-1][1]
    # One arena: every tensor inside [start, end), no two overlapping, 256-byte aligned.
    total = sum(len(raw) for _, _, raw in written.values())
    assert end - start < total + 256 * len(written)
    for (a, size), (b, _) in zip(pointers, pointers[1:]):
        assert a + size <= b
    assert all(p % 256 == 0 for p, _ in pointers)
    assert all(isinstance(t, torch.Tensor) for t in loaded.values())


def test_memory_is_released_when_every_tensor_is_gone(model_file):
    path, _ = model_file
    before = _stload._live_models()
    for _ in range(3):
        loaded = stload.load_file(path, framework="np")
        assert _stload._live_models() == before + 1
        del loaded
        gc.collect()
    assert _stload._live_models() == before


def test_empty_tensors_load_without_memory(dtypes_file):
    path, written = dtypes_file
    loaded = stload.load_file(path, only=["empty.f16", "empty.bf16"], framework="np")
    assert loaded["empty.f16"].shape == (0, 4)
    assert loaded["empty.bf16"].shape == (2, 0)
    assert np.asarray(loaded["empty.f16"]).size == 0
