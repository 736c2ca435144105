"""stload.load_file gives what safetensors' readers give, tensor by tensor, and places and filters
as asked."""

from __future__ import annotations

import numpy as np
import pytest

import stload
from st_files import every_dtype, torch_bytes, write_safetensors

# numpy dtype of each safetensors dtype on the numpy path (raw bits where numpy has no type).
NUMPY_DTYPES = {
    "BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16, "U16": np.uint16,
    "F16": np.float16, "BF16": np.uint16, "I32": np.int32, "U32": np.uint32, "F32": np.float32,
    "C64": np.complex64, "F64": np.float64, "I64": np.int64, "U64": np.uint64,
    "F8_E5M2": np.uint8, "F8_E4M3": np.uint8, "F8_E8M0": np.uint8, "F8_E4M3FNUZ": np.uint8,
    "F8_E5M2FNUZ": np.uint8, "F4": np.uint8, "F6_E2M3": np.uint8, "F6_E3M2": np.uint8,
}


def expected_numpy_shape(dtype, shape, raw):
    if dtype == "F4":
        return (*shape[:-1], shape[-1] // 2) if shape and shape[-1] % 2 == 0 else (len(raw),)
    if dtype in ("F6_E2M3", "F6_E3M2"):
        return (len(raw),)
    return tuple(shape)


# ---- torch -----------------------------------------------------------------------------------


def test_matches_safetensors_torch_for_every_dtype(reference_file):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file as reference_load

    path, written = reference_file
    ours = stload.load_file(path)
    theirs = reference_load(path)
    assert set(ours) == set(theirs) == set(written)
    for name, expected in theirs.items():
        got = ours[name]
        assert isinstance(got, torch.Tensor), name
        assert got.dtype == expected.dtype, name
        assert got.shape == expected.shape, name
        assert got.device.type == "cpu", name
        assert torch_bytes(got) == torch_bytes(expected) == written[name][2], name


def test_values_compare_equal_to_safetensors_torch(reference_file):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file as reference_load

    path, _ = reference_file
    ours = stload.load_file(path)
    for name, expected in reference_load(path).items():
        if expected.dtype in (torch.float16, torch.float32, torch.float64, torch.int32,
                              torch.int64, torch.int8, torch.int16, torch.uint8, torch.bool,
                              torch.bfloat16, torch.complex64):
            assert torch.equal(ours[name], expected), name


def test_file_saved_by_safetensors_round_trips(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(0)
    tensors = {
        "w.bf16": torch.randn(64, 33, generator=generator).to(torch.bfloat16),
        "w.f32": torch.randn(7, 5, 3, generator=generator),
        "w.f8": torch.randn(16, 16, generator=generator).to(torch.float8_e4m3fn),
        "w.i64": torch.arange(-50, 50),
        "w.bool": torch.arange(10) % 3 == 0,
    }
    path = tmp_path / "saved.safetensors"
    save_file(tensors, path)
    loaded = stload.load_file(path)
    for name, tensor in tensors.items():
        assert loaded[name].dtype == tensor.dtype
        assert torch_bytes(loaded[name]) == torch_bytes(tensor), name


def test_f6_arrives_as_its_packed_bytes(dtypes_file):
    torch = pytest.importorskip("torch")
    path, written = dtypes_file
    loaded = stload.load_file(path, only=["t.f6_e2m3", "t.f6_e3m2"])
    for name in ("t.f6_e2m3", "t.f6_e3m2"):
        assert loaded[name].dtype == torch.uint8
        assert loaded[name].shape == (len(written[name][2]),)
        assert torch_bytes(loaded[name]) == written[name][2]


def test_f4_with_an_odd_last_dim_arrives_as_flat_packed_pairs(dtypes_file):
    torch = pytest.importorskip("torch")
    path, written = dtypes_file
    tensor = stload.load_file(path, only="f4.odd_last")["f4.odd_last"]
    raw = written["f4.odd_last"][2]
    assert tensor.dtype == torch.float4_e2m1fn_x2
    assert tensor.shape == (len(raw),)
    assert torch_bytes(tensor) == raw


def test_tensors_are_writable_like_safetensors(model_file):
    torch = pytest.importorskip("torch")
    path, _ = model_file
    tensor = stload.load_file(path)["model.layers.0.input_layernorm.weight"]
    tensor.fill_(2.0)
    assert torch.all(tensor == 2.0)


def test_only_selects_names_and_dotted_prefixes(model_file):
    path, written = model_file
    loaded = stload.load_file(path, only=["model.layers.1", "lm_head.weight"], framework="np")
    expected = {n for n in written if n.startswith("model.layers.1.")} | {"lm_head.weight"}
    assert set(loaded) == expected


def test_only_prefix_does_not_match_inside_a_component(tmp_path):
    tensors = {f"layers.{i}.w": ("F32", [1], bytes(4)) for i in (1, 10, 11)}
    path = tmp_path / "t.safetensors"
    write_safetensors(path, tensors)
    assert set(stload.load_file(path, only="layers.1", framework="np")) == {"layers.1.w"}


def test_dict_follows_file_order(model_file):
    path, written = model_file
    assert list(stload.load_file(path, framework="np")) == list(written)


def test_device_map_dict_of_cpu_rules_loads_everything(model_file):
    pytest.importorskip("torch")
    path, written = model_file
    loaded = stload.load_file(path, device_map={"model.layers.0": "cpu", "": "cpu:0"})
    assert set(loaded) == set(written)
    assert all(t.device.type == "cpu" for t in loaded.values())


def test_sharded_checkpoint_loads_through_its_index(sharded):
    index, written, _ = sharded
    for path in (index, index.parent):
        loaded = stload.load_file(path, framework="np")
        assert set(loaded) == set(written)
        for name, (_, _, raw) in written.items():
            assert loaded[name].tobytes() == raw, name


# ---- numpy -----------------------------------------------------------------------------------


def test_numpy_matches_safetensors_numpy(tmp_path):
    from safetensors.numpy import load_file as reference_load

    # safetensors.numpy refuses files holding bf16/float8/float4: compare on the dtypes it reads.
    native = {"BOOL", "U8", "I8", "I16", "U16", "F16", "I32", "U32", "F32", "C64", "F64", "I64",
              "U64"}
    written = {n: t for n, t in every_dtype().items() if t[0] in native}
    path = tmp_path / "numpy.safetensors"
    write_safetensors(path, written)
    ours = stload.load_file(path, framework="np")
    theirs = reference_load(path)
    assert set(ours) == set(theirs) == set(written)
    for name, expected in theirs.items():
        got = ours[name]
        assert isinstance(got, np.ndarray), name
        assert got.dtype == expected.dtype and got.shape == expected.shape, name
        assert np.array_equal(got, expected), name
        assert got.tobytes() == written[name][2], name


def test_numpy_gives_raw_bits_for_types_numpy_lacks(dtypes_file):
    path, written = dtypes_file
    loaded = stload.load_file(path, framework="np")
    for name, (dtype, shape, raw) in written.items():
        got = loaded[name]
        assert got.dtype == NUMPY_DTYPES[dtype], name
        assert got.shape == expected_numpy_shape(dtype, shape, raw), name
        assert got.tobytes() == raw, name


def test_numpy_bf16_bits_decode_to_the_written_floats(tmp_path):
    values = np.array([1.0, -2.5, 3.140625, 0.0], dtype=np.float32)
    bits = (values.view(np.uint32) >> 16).astype(np.uint16)
    path = tmp_path / "bf16.safetensors"
    write_safetensors(path, {"x": ("BF16", [4], bits.tobytes())})
    raw = stload.load_file(path, framework="np")["x"]
    decoded = (raw.astype(np.uint32) << 16).view(np.float32)
    assert np.array_equal(decoded, values)


def test_framework_defaults_to_torch_when_installed(model_file):
    path, _ = model_file
    tensor = next(iter(stload.load_file(path).values()))
    try:
        import torch
    except ImportError:
        assert isinstance(tensor, np.ndarray)
    else:
        assert isinstance(tensor, torch.Tensor)
