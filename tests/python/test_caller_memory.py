"""load_file(destinations=, allocators=): tensors loaded into memory the caller owns."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import stload
from st_files import torch_bytes


def aligned_block(nbytes: int, alignment: int) -> np.ndarray:
    """A writable uint8 array of `nbytes` starting at a multiple of `alignment`."""
    raw = np.empty(nbytes + alignment, dtype=np.uint8)
    start = (-raw.ctypes.data) % alignment
    return raw[start : start + nbytes]


def test_numpy_destinations_receive_the_bytes_and_are_returned_as_given(model_file):
    path, written = model_file
    name = "model.layers.0.self_attn.q_proj.weight"
    dtype, shape, raw = written[name]
    assert dtype == "BF16"
    mine = np.zeros(shape, dtype=np.uint16)  # BF16's numpy carrier
    norm = "model.layers.1.input_layernorm.weight"
    bytes_buffer = np.zeros(len(written[norm][2]) + 64, dtype=np.uint8)  # raw bytes, room to spare
    loaded = stload.load_file(path, framework="np", destinations={name: mine, norm: bytes_buffer})
    assert loaded[name] is mine and loaded[norm] is bytes_buffer
    assert mine.tobytes() == raw
    assert bytes_buffer[: len(written[norm][2])].tobytes() == written[norm][2]
    assert not bytes_buffer[len(written[norm][2]) :].any()  # nothing written past the tensor
    for other, (_, _, data) in written.items():
        if other not in (name, norm):
            assert loaded[other].tobytes() == data, other


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda shape: np.zeros(shape, dtype=np.float32), ["float32", "BF16"]),
        (lambda shape: np.zeros((shape[0] * shape[1] - 1,), dtype=np.uint16), ["elements"]),
        (lambda shape: np.zeros((shape[1], shape[0]), dtype=np.uint16).T, ["contiguous"]),
        (lambda shape: np.zeros(4, dtype=np.uint8), ["bytes"]),
        (lambda shape: "not memory", ["numpy array"]),
    ],
)
def test_bad_destinations_are_refused_naming_the_tensor(model_file, make, words):
    path, written = model_file
    name = "model.layers.0.self_attn.q_proj.weight"
    with pytest.raises(stload.InvalidArgumentError) as error:
        stload.load_file(path, framework="np", destinations={name: make(written[name][1])})
    assert name in str(error.value)
    for word in words:
        assert word in str(error.value)


def test_read_only_and_unknown_destinations_are_refused(model_file):
    path, written = model_file
    frozen = np.zeros(16, dtype=np.uint8)
    frozen.flags.writeable = False
    with pytest.raises(stload.InvalidArgumentError, match="read-only"):
        stload.load_file(path, framework="np", destinations={"lm_head.weight": frozen})
    with pytest.raises(stload.InvalidArgumentError, match="no such tensor"):
        stload.load_file(path, framework="np", destinations={"nope": np.zeros(4, np.uint8)})


def test_allocator_gives_the_arena_and_is_released_with_the_last_tensor(model_file):
    path, written = model_file
    calls = []
    blocks = []

    def allocate(nbytes, alignment):
        calls.append((nbytes, alignment))
        block = aligned_block(nbytes, alignment)
        blocks.append(weakref.ref(block.base))
        return block

    loaded = stload.load_file(path, framework="np", zero_copy=False, allocators={"cpu": allocate})
    assert len(calls) == 1 and calls[0][1] == 256
    assert calls[0][0] >= sum(len(raw) for _, _, raw in written.values())
    base = blocks[0]()
    assert base is not None
    start, end = base.ctypes.data, base.ctypes.data + base.nbytes
    for name, (_, _, raw) in written.items():
        assert loaded[name].tobytes() == raw, name
        assert start <= loaded[name].ctypes.data < end, name
    kept = loaded["lm_head.weight"]
    del loaded, base
    gc.collect()
    assert blocks[0]() is not None  # one tensor still holds the arena
    del kept
    gc.collect()
    assert blocks[0]() is None  # released with the last tensor


def test_allocator_failures_fail_the_load_with_their_reason(model_file):
    path, _ = model_file

    def broken(nbytes, alignment):
        raise RuntimeError("pool exhausted")

    with pytest.raises(stload.OutOfMemoryError, match="pool exhausted"):
        stload.load_file(path, framework="np", zero_copy=False, allocators={"cpu": broken})

    def misaligned(nbytes, alignment):
        return aligned_block(nbytes + 1, alignment)[1:]

    with pytest.raises(stload.InvalidArgumentError, match="not aligned"):
        stload.load_file(path, framework="np", zero_copy=False, allocators={"cpu": misaligned})
    with pytest.raises(stload.InvalidArgumentError, match="not callable"):
        stload.load_file(path, framework="np", allocators={"cpu": 42})


def test_torch_destinations_on_the_cpu(model_file):
    torch = pytest.importorskip("torch")
    path, written = model_file
    name = "model.layers.1.mlp.up_proj.weight"
    dtype, shape, raw = written[name]
    mine = torch.empty(shape, dtype=torch.bfloat16 if dtype == "BF16" else torch.float32)
    loaded = stload.load_file(path, destinations={name: mine})
    assert loaded[name] is mine
    assert torch_bytes(mine) == raw
    with pytest.raises(stload.InvalidArgumentError, match="contiguous"):
        stload.load_file(path, destinations={name: torch.empty(shape[::-1], dtype=mine.dtype).t()})
