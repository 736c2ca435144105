"""get_slice on sub-byte dtypes (F4: 4 bits, F6_E2M3 / F6_E3M2: 6 bits) indexes elements.

`get_shape()` reports elements, so `[0:2]` must mean two elements, never two packed bytes. A
selection whose contiguous runs do not start and end on a byte boundary is refused, as the
reference refuses it, and never answered with neighbouring elements.

The expected bytes are computed independently: the file's bits are unpacked into one code per
element, indexed with numpy, and packed again.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

import stload
from st_files import torch_available, write_safetensors

BITS = {"F4": 4, "F6_E2M3": 6, "F6_E3M2": 6}


def unpack(raw: bytes, bits: int, shape) -> np.ndarray:
    stream = np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little")
    codes = stream.reshape(-1, bits) @ (1 << np.arange(bits))
    return codes.reshape(shape)


def pack(codes: np.ndarray, bits: int) -> bytes:
    flat = codes.reshape(-1).astype(np.int64)
    stream = ((flat[:, None] >> np.arange(bits)) & 1).astype(np.uint8).reshape(-1)
    return np.packbits(stream, bitorder="little").tobytes()


@pytest.fixture
def packed(tmp_path):
    rng = random.Random(4)
    tensors = {
        "f4": ("F4", [6, 8], rng.randbytes(24)),
        "f4.3d": ("F4", [2, 3, 4], rng.randbytes(12)),
        "f6": ("F6_E2M3", [4, 8], rng.randbytes(24)),
        "f6.e3m2": ("F6_E3M2", [3, 4], rng.randbytes(9)),
    }
    path = tmp_path / "packed.safetensors"
    write_safetensors(path, tensors)
    return path, tensors


ALIGNED = {
    "f4": [(slice(0, 2),), (1,), (slice(None), slice(2, 6)), (Ellipsis, slice(0, 4)),
           (slice(1, 5, 2), slice(4, 8)), (-1,), (slice(None),), (Ellipsis,)],
    "f4.3d": [(1,), (0, slice(1, 3)), (slice(None), 2), (Ellipsis, slice(2, 4)), (1, 2)],
    "f6": [(slice(1, 3),), (2,), (slice(None), slice(0, 4)), (slice(None), slice(4, 8)),
           (slice(None, None, 2),)],
    "f6.e3m2": [(slice(0, 2),), (1,), (slice(None),)],
}  # fmt: skip

CASES = [(name, index) for name, indexes in ALIGNED.items() for index in indexes]


@pytest.mark.parametrize("name,index", CASES, ids=[f"{n}{i!r}" for n, i in CASES])
def test_indexes_are_elements_of_the_reported_shape(packed, name, index):
    path, written = packed
    dtype, shape, raw = written[name]
    codes = unpack(raw, BITS[dtype], shape)
    expected = codes[index]
    with stload.safe_open(path, framework="np") as f:
        piece = f.get_slice(name)
        assert piece.get_shape() == shape and piece.get_dtype() == dtype
        got = piece[index]
    assert got.dtype == np.uint8
    assert got.tobytes() == pack(expected, BITS[dtype])
    if dtype == "F4" and expected.ndim and expected.shape[-1] % 2 == 0:
        assert got.shape == (*expected.shape[:-1], expected.shape[-1] // 2)  # as get_tensor packs
    else:
        assert got.ndim == 1  # the packed bytes, flat, as get_tensor gives them


MISALIGNED = [
    ("f4", (slice(None), slice(1, 2))),  # half a byte per row
    ("f4", (0, 3)),  # one element
    ("f4", (slice(None), slice(None, None, 2))),  # every other element
    ("f4.3d", (Ellipsis, slice(0, 1))),
    ("f6", (slice(None), slice(0, 2))),  # 12 bits
    ("f6", (slice(None), slice(2, 6))),  # starts at bit 12
    ("f6.e3m2", (0, slice(0, 1))),
]


@pytest.mark.parametrize("name,index", MISALIGNED, ids=[f"{n}{i!r}" for n, i in MISALIGNED])
def test_a_slice_off_byte_boundaries_is_refused(packed, name, index):
    path, _ = packed
    with stload.safe_open(path, framework="np") as f:
        with pytest.raises(stload.InvalidArgumentError, match="byte boundary") as info:
            f.get_slice(name)[index]
    assert isinstance(info.value, stload.SafetensorError)
    assert name in str(info.value)


def test_the_reference_refuses_the_same_f6_slice(packed):
    # safetensors has the same rule (its message is the one stload's follows); it cannot read F6
    # at all, so every F6 slice fails there: what matters is that neither returns other elements.
    from safetensors import safe_open as reference_open

    path, _ = packed
    with reference_open(path, "np") as f, pytest.raises(Exception, match="byte boundary"):
        f.get_slice("f6")[0:1, 0:1]


def test_out_of_range_and_unsupported_indexes(packed):
    path, _ = packed
    with stload.safe_open(path, framework="np") as f:
        piece = f.get_slice("f4")
        with pytest.raises(IndexError):
            piece[6]
        with pytest.raises(IndexError):
            piece[0, 0, 0]
        with pytest.raises(stload.InvalidArgumentError, match="ints, slices"):
            piece[[0, 1]]


@pytest.mark.skipif(not torch_available(), reason="torch is not installed")
def test_torch_f4_slices_are_float4_with_the_packed_shape(packed):
    import torch

    path, written = packed
    dtype, shape, raw = written["f4"]
    codes = unpack(raw, 4, shape)
    with stload.safe_open(path, framework="pt") as f:
        whole = f.get_tensor("f4")
        rows = f.get_slice("f4")[1:3]
        block = f.get_slice("f4")[:, 4:8]
    assert rows.dtype == whole.dtype == torch.float4_e2m1fn_x2
    assert rows.shape == (2, 4) and block.shape == (6, 2)
    assert rows.view(torch.uint8).numpy().tobytes() == pack(codes[1:3], 4)
    assert block.view(torch.uint8).numpy().tobytes() == pack(codes[:, 4:8], 4)
    assert torch.equal(rows.view(torch.uint8), whole[1:3].view(torch.uint8))
