"""File names that are not UTF-8, and file arguments of the wrong kind.

A POSIX file name is bytes. Every function that takes one accepts str (os.fsdecode's
surrogate-escaped str included), bytes and os.PathLike, and a bad type or a missing file raises
the module's own error, never a binding TypeError or a UnicodeDecodeError.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

import stload
import stload.numpy
from st_files import model_like, torch_available, write_safetensors

NAME = b"\xff\xfe-w\xe9ights.safetensors"  # not UTF-8


def spellings(raw: bytes):
    """The same file as bytes, as os.fsdecode's str, and as a pathlib.Path."""
    return {
        "bytes": raw,
        "str": os.fsdecode(raw),
        "PathLike": Path(os.fsdecode(raw)),
    }


@pytest.fixture
def odd_file(tmp_path):
    """(raw path, tensors) of a checkpoint in a folder and under a name that are not UTF-8."""
    folder = os.fsencode(tmp_path) + b"/\x80dir"
    os.mkdir(folder)
    raw = folder + b"/" + NAME
    tensors = model_like(layers=1)
    write_safetensors(Path(os.fsdecode(raw)), tensors)
    return raw, tensors


def _loaders():
    """(name, call(path) -> dict of name -> array bytes) for every function that reads a file."""

    def via_safe_open(path):
        with stload.safe_open(path, framework="np") as f:
            return {k: f.get_tensor(k) for k in f.keys()}

    def via_iter(path):
        return dict(stload.iter_tensors(path, framework="np"))

    calls = [
        ("load_file", lambda p: stload.load_file(p, framework="np")),
        ("iter_tensors", via_iter),
        ("safe_open", via_safe_open),
        ("numpy.load_file", stload.numpy.load_file),
    ]
    if torch_available():
        calls.append(("torch.load_file", importlib.import_module("stload.torch").load_file))
    return calls


LOADERS = _loaders()


@pytest.mark.parametrize("spelling", ["bytes", "str", "PathLike"])
@pytest.mark.parametrize("name,load", LOADERS, ids=[n for n, _ in LOADERS])
def test_loads_a_file_whose_name_is_not_utf8(odd_file, spelling, name, load):
    raw, written = odd_file
    got = load(spellings(raw)[spelling])
    assert sorted(got) == sorted(written)
    for key, (_, _, data) in written.items():
        tensor = got[key]
        if not isinstance(tensor, np.ndarray):
            from st_files import torch_bytes

            assert torch_bytes(tensor) == data, key
        else:
            assert tensor.tobytes() == data, key


def test_shards_and_index_in_a_folder_that_is_not_utf8(tmp_path):
    # The index is JSON, so its shard names are UTF-8; the folder holding them need not be.
    folder = os.fsencode(tmp_path) + b"/\xfe shards"
    os.mkdir(folder)
    tensors = model_like(layers=2)
    names = list(tensors)
    shards = {"a.safetensors": names[:3], "b.safetensors": names[3:]}
    weight_map = {}
    for file, members in shards.items():
        write_safetensors(Path(os.fsdecode(folder)) / file, {n: tensors[n] for n in members})
        weight_map.update({n: file for n in members})
    index = folder + b"/model.safetensors.index.json"
    with open(index, "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f)
    for path in (index, os.fsdecode(index), folder, Path(os.fsdecode(folder))):
        assert sorted(stload.load_file(path, framework="np")) == sorted(names)
        assert sorted(n for n, _ in stload.iter_tensors(path, framework="np")) == sorted(names)
        with stload.safe_open(path, framework="np") as f:
            assert f.keys() == sorted(names)


def test_saves_to_a_name_that_is_not_utf8(tmp_path):
    raw = os.fsencode(tmp_path) + b"/" + NAME
    for spelling in spellings(raw).values():
        stload.numpy.save_file({"a": np.arange(4)}, spelling)
        assert stload.numpy.load_file(spelling)["a"].tolist() == [0, 1, 2, 3]
    assert os.listdir(os.fsencode(tmp_path)) == [NAME]  # and no temporary file left behind


@pytest.mark.skipif(not torch_available(), reason="torch is not installed")
def test_torch_saves_and_loads_models_under_names_that_are_not_utf8(tmp_path):
    import torch

    import stload.torch

    raw = os.fsencode(tmp_path) + b"/" + NAME
    model = torch.nn.Linear(3, 2)
    stload.torch.save_model(model, raw)
    assert stload.torch.load_model(torch.nn.Linear(3, 2), Path(os.fsdecode(raw))) == (set(), [])
    stload.torch.save_file({"t": torch.ones(2)}, os.fsdecode(raw))
    assert stload.torch.load_file(raw)["t"].tolist() == [1.0, 1.0]


def _callers():
    calls = [
        ("load_file", lambda p: stload.load_file(p, framework="np")),
        ("iter_tensors", lambda p: stload.iter_tensors(p, framework="np")),
        ("safe_open", lambda p: stload.safe_open(p, framework="np")),
        ("numpy.load_file", stload.numpy.load_file),
        ("numpy.save_file", lambda p: stload.numpy.save_file({"a": np.zeros(1)}, p)),
    ]
    if torch_available():
        st_torch = importlib.import_module("stload.torch")
        calls += [
            ("torch.load_file", st_torch.load_file),
            ("torch.save_file", lambda p: st_torch.save_file({}, p)),
        ]
    return calls


CALLERS = _callers()


@pytest.mark.parametrize("bad", [None, 3, 2.5, ["a.safetensors"], object()], ids=repr)
@pytest.mark.parametrize("name,call", CALLERS, ids=[n for n, _ in CALLERS])
def test_a_filename_of_the_wrong_type_raises_the_modules_error(name, call, bad):
    with pytest.raises(stload.InvalidArgumentError, match="str, bytes or os.PathLike") as info:
        call(bad)
    assert info.value.code == "InvalidArgument"
    assert isinstance(info.value, stload.SafetensorError)


@pytest.mark.parametrize("name,call", CALLERS, ids=[n for n, _ in CALLERS])
def test_a_nul_byte_in_a_filename_is_refused_not_truncated(tmp_path, name, call):
    # C would stop at the NUL and open "<dir>/model.safetensors": a different file.
    write_safetensors(tmp_path / "model.safetensors", model_like(layers=1))
    with pytest.raises(stload.InvalidArgumentError, match="NUL"):
        call(os.fsencode(tmp_path) + b"/model.safetensors\0.bak")


@pytest.mark.parametrize("name,call", [c for c in CALLERS if "save" not in c[0]],
                         ids=[n for n, _ in CALLERS if "save" not in n])  # fmt: skip
def test_a_missing_file_with_a_non_utf8_name_raises_not_found_naming_it(tmp_path, name, call):
    raw = os.fsencode(tmp_path) + b"/missing-\xff.safetensors"
    with pytest.raises(stload.NotFoundError) as info:
        call(raw)
    assert isinstance(info.value, FileNotFoundError)
    assert "missing-\\xff.safetensors" in str(info.value)  # shown, not a UnicodeDecodeError


def test_saving_into_a_missing_folder_raises_not_found(tmp_path):
    raw = os.fsencode(tmp_path) + b"/no-\xff/x.safetensors"
    with pytest.raises(stload.NotFoundError, match="no-\\\\xff"):
        stload.numpy.save_file({"a": np.zeros(1)}, raw)


def test_format_errors_name_a_non_utf8_file_readably(tmp_path):
    raw = os.fsencode(tmp_path) + b"/bad-\xff.safetensors"
    with open(raw, "wb") as f:
        f.write(b"\x04\x00\x00\x00\x00\x00\x00\x00{]  ")
    with pytest.raises(stload.FormatError) as info:
        stload.load_file(raw, framework="np")
    assert "bad-\\xff.safetensors" in str(info.value)
