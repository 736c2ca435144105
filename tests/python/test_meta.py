"""device="meta": torch tensors with the shape and dtype a real load gives, and no data read.

The reference (0.8) refuses device="meta"; transformers builds models on meta first, so stload
offers it for safe_open and stload.torch.load_file.
"""

from __future__ import annotations

import pytest

import stload
from st_files import torch_available

needs_torch = pytest.mark.skipif(
    not torch_available(), reason="meta tensors are torch's; torch is not installed"
)


class NoData:
    """Stands in for the opened checkpoint: headers yes, any read of tensor data fails."""

    def __init__(self, checkpoint):
        self._checkpoint = checkpoint

    def metadata(self):
        return self._checkpoint.metadata()

    def load(self, *args):
        raise AssertionError("device='meta' loaded tensor data")

    def mapped(self, *args):
        raise AssertionError("device='meta' read tensor data")


NAMES = ["t.bf16", "t.f32", "t.f8_e4m3", "t.f4", "t.f6_e2m3", "scalar.f32", "empty.f16", "t.bool"]


@needs_torch
def test_meta_tensors_have_the_shape_and_dtype_of_a_real_load(dtypes_file):
    path, _ = dtypes_file
    with stload.safe_open(path, framework="pt") as real:
        expected = {name: real.get_tensor(name) for name in NAMES}
    with stload.safe_open(path, framework="pt", device="meta") as f:
        f._checkpoint = NoData(f._checkpoint)
        for name in NAMES:
            got = f.get_tensor(name)
            assert got.device.type == "meta", name
            assert (got.dtype, got.shape) == (expected[name].dtype, expected[name].shape), name
        everything = f.get_tensors()
        assert list(everything) == f.offset_keys()
        assert all(t.device.type == "meta" for t in everything.values())
        assert f.get_slice("t.bf16")[1:, ::2].shape == expected["t.bf16"][1:, ::2].shape
        assert f.get_slice("t.f4")[0:2].shape == (2, 2)  # F4 [3, 4]: two rows, packed


@needs_torch
def test_load_file_onto_meta(dtypes_file):
    import stload.torch

    path, _ = dtypes_file
    tensors = stload.torch.load_file(path, device="meta")
    assert all(t.device.type == "meta" for t in tensors.values())
    assert tensors["t.i64"].shape == (3, 5)


@needs_torch
def test_meta_slices_keep_the_sub_byte_rule(dtypes_file):
    path, _ = dtypes_file
    with stload.safe_open(path, framework="pt", device="meta") as f:
        with pytest.raises(stload.InvalidArgumentError, match="byte boundary"):
            f.get_slice("t.f4")[:, 1:2]


def test_meta_is_refused_for_numpy(dtypes_file):
    path, _ = dtypes_file
    with pytest.raises(stload.InvalidArgumentError, match="meta"):
        stload.safe_open(path, framework="np", device="meta")
