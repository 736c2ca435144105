"""load_file(dtype=...): tensors converted while they load, equal to numpy's (or torch's) cast.

The references are numpy's astype (round to nearest even, IEEE specials) and, for bfloat16, torch's
.to() where torch is installed: implementations that are not stload's.
"""

from __future__ import annotations

import numpy as np
import pytest

# The references cast NaN, Inf and out-of-range values on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:.*encountered in cast:RuntimeWarning")

import stload
from st_files import torch_available, write_safetensors

NP_NAMES = {np.float16: "F16", np.float32: "F32", np.float64: "F64", np.int32: "I32"}


def hard_f32_values(rng) -> np.ndarray:
    """Values where a cast to float16 can go wrong: specials, subnormals, halfway points, the
    overflow boundary, plus random ones over the whole exponent range."""
    special = np.array(
        [0.0, -0.0, np.inf, -np.inf, np.nan, 65504.0, 65520.0, 65519.99, 6.1e-5, 5.96e-8, 2.98e-8,
         1.0 + 2.0**-11, 1.0 + 3 * 2.0**-11, -1.0 - 2.0**-11, 1e-10, 3.4e38],
        dtype=np.float32,
    )
    bits = rng.integers(0, 2**32, 4000, dtype=np.uint64).astype(np.uint32)
    return np.concatenate([special, bits.view(np.float32)])


def write(path, arrays):
    tensors = {k: (NP_NAMES[v.dtype.type], list(v.shape), v.tobytes()) for k, v in arrays.items()}
    write_safetensors(path, tensors)
    return path


def same_bits(got: np.ndarray, want: np.ndarray):
    assert got.dtype == want.dtype and got.shape == want.shape
    # NaN payloads are not promised (numpy keeps them, and so may we); every other bit is.
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    np.testing.assert_array_equal(got[~nan].view(np.uint8), want[~nan].view(np.uint8))


@pytest.fixture
def f32_file(tmp_path):
    rng = np.random.default_rng(11)
    values = hard_f32_values(rng)
    arrays = {
        "model.embed.weight": values[:4016].reshape(8, 502),
        "model.norm.weight": rng.standard_normal(64).astype(np.float32),
        "model.ids": rng.integers(-9, 9, (4, 4), dtype=np.int32),
    }
    return write(tmp_path / "f32.safetensors", arrays), arrays


def test_one_target_converts_every_float_and_leaves_integers(f32_file):
    path, arrays = f32_file
    got = stload.load_file(path, framework="np", dtype="f16")
    same_bits(got["model.embed.weight"], arrays["model.embed.weight"].astype(np.float16))
    same_bits(got["model.norm.weight"], arrays["model.norm.weight"].astype(np.float16))
    np.testing.assert_array_equal(got["model.ids"], arrays["model.ids"])
    assert got["model.ids"].dtype == np.int32


@pytest.mark.parametrize("target", [np.float64, "F64", "float64"], ids=["np", "name", "npname"])
def test_numpy_dtypes_and_names_are_the_same_target(f32_file, target):
    path, arrays = f32_file
    got = stload.load_file(path, framework="np", dtype=target)
    same_bits(got["model.embed.weight"], arrays["model.embed.weight"].astype(np.float64))


def test_rules_pick_tensors_and_win_over_nothing_else(f32_file):
    path, arrays = f32_file
    got = stload.load_file(path, framework="np", dtype={"model.norm": "f64"})
    same_bits(got["model.norm.weight"], arrays["model.norm.weight"].astype(np.float64))
    same_bits(got["model.embed.weight"], arrays["model.embed.weight"])  # untouched


def test_converted_tensor_parallel_part_is_the_cast_of_the_slice(f32_file):
    path, arrays = f32_file
    for rank in range(2):
        got = stload.load_file(
            path, framework="np", tp=(rank, 2), split={"model.embed": 1}, dtype="f16"
        )
        part = arrays["model.embed.weight"][:, rank * 251 : (rank + 1) * 251]
        same_bits(got["model.embed.weight"], part.astype(np.float16))


def test_converted_tensors_are_copies_not_views_of_the_file(f32_file):
    path, arrays = f32_file
    got = stload.load_file(path, framework="np", dtype="f64")  # zero_copy is the default
    got["model.norm.weight"][:] = 7.0
    again = stload.load_file(path, framework="np")
    np.testing.assert_array_equal(again["model.norm.weight"], arrays["model.norm.weight"])


def test_refused_targets_name_the_tensor_or_the_value(f32_file):
    path, _ = f32_file
    with pytest.raises(stload.InvalidArgumentError, match="model.ids"):
        stload.load_file(path, framework="np", dtype={"model.ids": "f32"})
    with pytest.raises(stload.InvalidArgumentError, match="no dtype stload converts to"):
        stload.load_file(path, framework="np", dtype=np.int16)
    with pytest.raises(stload.InvalidArgumentError, match="f17"):
        stload.load_file(path, framework="np", dtype="f17")


@pytest.mark.skipif(not torch_available(), reason="torch is not installed")
def test_bfloat16_both_ways_equals_torch(tmp_path):
    import torch

    rng = np.random.default_rng(5)
    values = hard_f32_values(rng)
    path = write(tmp_path / "bf.safetensors", {"w": values})
    got = stload.load_file(path, dtype=torch.bfloat16)["w"]
    want = torch.from_numpy(values).to(torch.bfloat16)
    assert got.dtype == torch.bfloat16 and got.shape == want.shape
    nan = torch.isnan(want)
    assert torch.equal(torch.isnan(got), nan)
    assert torch.equal(got[~nan].view(torch.int16), want[~nan].view(torch.int16))

    # And back up: every bfloat16 bit pattern to float32 is exact.
    patterns = np.arange(2**16, dtype=np.uint32).astype(np.uint16)
    write_safetensors(tmp_path / "all.safetensors", {"b": ("BF16", [2**16], patterns.tobytes())})
    up = stload.load_file(tmp_path / "all.safetensors", dtype="f32")["b"]
    want_up = torch.from_numpy(patterns.view(np.int16)).view(torch.bfloat16).to(torch.float32)
    nan = torch.isnan(want_up)
    assert up.dtype == torch.float32
    assert torch.equal(torch.isnan(up), nan)
    assert torch.equal(up[~nan].view(torch.int32), want_up[~nan].view(torch.int32))


def test_iter_tensors_converts_too(f32_file):
    path, arrays = f32_file
    got = dict(stload.iter_tensors(path, framework="np", dtype="f16"))
    same_bits(got["model.norm.weight"], arrays["model.norm.weight"].astype(np.float16))
    np.testing.assert_array_equal(got["model.ids"], arrays["model.ids"])
