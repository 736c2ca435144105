"""stload's failures become StloadError subclasses carrying the C++ error code."""

from __future__ import annotations

import importlib.util
import struct

import pytest

import stload
from st_files import write_safetensors


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        stload.load_file(tmp_path / "absent.safetensors", framework="np")
    assert isinstance(info.value, stload.StloadError)
    assert info.value.code == "NotFound"
    assert "absent.safetensors" in str(info.value)


def test_file_shorter_than_the_length_prefix_is_header_too_small(tmp_path):
    path = tmp_path / "short.safetensors"
    path.write_bytes(b"\x01\x02\x03")
    with pytest.raises(stload.FormatError) as info:
        stload.load_file(path, framework="np")
    assert isinstance(info.value, ValueError)
    assert info.value.code == "HeaderTooSmall"


def test_gap_between_tensors_is_invalid_offset(tmp_path):
    header = b'{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},' \
             b'"b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}}'
    path = tmp_path / "gap.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(5))
    with pytest.raises(stload.StloadError) as info:
        stload.load_file(path, framework="np")
    assert info.value.code == "InvalidOffset"
    assert "'b'" in info.value.message or "b" in info.value.message


def test_trailing_bytes_are_metadata_incomplete_buffer(tmp_path):
    path = tmp_path / "trailing.safetensors"
    write_safetensors(path, {"a": ("U8", [2], b"\x01\x02")})
    with open(path, "ab") as f:
        f.write(b"\x00")
    with pytest.raises(stload.FormatError) as info:
        stload.load_file(path, framework="np")
    assert info.value.code == "MetadataIncompleteBuffer"


def test_only_pattern_matching_nothing_is_invalid_argument(model_file):
    path, _ = model_file
    with pytest.raises(ValueError) as info:
        stload.load_file(path, only=["model.layers.1", "model.layers.9"], framework="np")
    assert isinstance(info.value, stload.InvalidArgumentError)
    assert "model.layers.9" in str(info.value)
    assert "model.layers.1'" not in str(info.value)


def test_unknown_device_is_invalid_argument(model_file):
    path, _ = model_file
    with pytest.raises(stload.InvalidArgumentError) as info:
        stload.load_file(path, device="tpu:0", framework="np")
    assert info.value.code == "InvalidArgument"
    assert "tpu:0" in str(info.value)


def test_device_map_of_the_wrong_type_is_invalid_argument(model_file):
    path, _ = model_file
    with pytest.raises(ValueError):
        stload.load_file(path, device_map=["cpu"], framework="np")


def test_unknown_framework_is_invalid_argument(model_file):
    path, _ = model_file
    with pytest.raises(stload.InvalidArgumentError):
        stload.load_file(path, framework="jax")


def test_numpy_refuses_a_gpu_device_before_loading(model_file):
    path, _ = model_file
    with pytest.raises(stload.InvalidArgumentError) as info:
        stload.load_file(path, device="cuda:0", framework="np")
    assert "numpy" in str(info.value)


@pytest.mark.skipif(stload.cuda_device_count() > 0, reason="a GPU answers here")
def test_gpu_device_without_a_gpu_is_a_cuda_error(model_file):
    pytest.importorskip("torch")
    path, _ = model_file
    with pytest.raises(stload.StloadError) as info:
        stload.load_file(path, device="cuda:0")
    assert info.value.code == "Cuda"
    assert isinstance(info.value, RuntimeError)


def test_get_tensor_of_an_absent_name_is_a_key_error(model_file):
    path, _ = model_file
    with stload.safe_open(path, framework="np") as f:
        with pytest.raises(KeyError) as info:
            f.get_tensor("nope")
    assert info.value.code == "TensorNotFound"


def test_error_text_names_the_code(tmp_path):
    with pytest.raises(stload.StloadError) as info:
        stload.load_file(tmp_path / "x.safetensors", framework="np")
    assert str(info.value).endswith("[NotFound]")


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="torch is installed")
def test_torch_framework_without_torch_says_so(model_file):
    path, _ = model_file
    with pytest.raises(stload.InvalidArgumentError) as info:
        stload.load_file(path, framework="pt")
    assert "framework='np'" in str(info.value)
