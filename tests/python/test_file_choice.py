"""Which files a directory means, from Python: never a silent choice (issue: real users' checkpoints).

The rules are C++'s (docs/cpp.md, "Which files a path loads"); these tests prove Python gets the
refusal, the `merge` switch and the notes (as StloadNotice warnings) for each entry point."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

import stload
from st_files import model_like, write_safetensors


def _unrelated(tmp_path: Path):
    """model.safetensors and adapter_model.safetensors side by side, no index."""
    base = {k: v for k, v in list(model_like(layers=1, seed=3).items())[:3]}
    adapter = {"lora." + k: v for k, v in list(model_like(layers=1, seed=4).items())[:2]}
    write_safetensors(tmp_path / "model.safetensors", base)
    write_safetensors(tmp_path / "adapter_model.safetensors", adapter)
    return base, adapter


def _np(path, **kw):
    return stload.load_file(path, framework="np", **kw)


def test_unrelated_files_are_refused_naming_both(tmp_path: Path):
    _unrelated(tmp_path)
    with pytest.raises(stload.InvalidArgumentError) as caught:
        _np(tmp_path)
    message = str(caught.value)
    assert "model.safetensors" in message and "adapter_model.safetensors" in message


def test_unrelated_files_refused_by_safe_open_and_iter_tensors(tmp_path: Path):
    _unrelated(tmp_path)
    with pytest.raises(stload.InvalidArgumentError):
        stload.safe_open(tmp_path, framework="np")
    with pytest.raises(stload.InvalidArgumentError):
        list(stload.iter_tensors(tmp_path, framework="np"))


def test_merge_loads_every_file_and_warns_that_it_merged(tmp_path: Path):
    base, adapter = _unrelated(tmp_path)
    with pytest.warns(stload.StloadNotice):
        loaded = _np(tmp_path, merge=True)
    assert set(loaded) == set(base) | set(adapter)
    with pytest.warns(stload.StloadNotice):
        with stload.safe_open(tmp_path, framework="np", merge=True) as f:
            assert set(f.keys()) == set(base) | set(adapter)


def test_single_file_beside_its_index_wins_and_says_so(tmp_path: Path):
    single = {k: v for k, v in list(model_like(layers=1, seed=5).items())[:2]}
    write_safetensors(tmp_path / "model.safetensors", single)
    other = {"only.in.the.shard": ("F32", [2], bytes(8))}
    write_safetensors(tmp_path / "model-00001-of-00001.safetensors", other)
    (tmp_path / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"only.in.the.shard": "model-00001-of-00001.safetensors"}}))
    with pytest.warns(stload.StloadNotice) as notes:
        loaded = _np(tmp_path)
    assert set(loaded) == set(single)
    assert any("model.safetensors.index.json" in str(n.message) for n in notes)


def test_a_plain_file_gives_no_notice(tmp_path: Path):
    write_safetensors(tmp_path / "model.safetensors", model_like(layers=1, seed=6))
    with warnings.catch_warnings():
        warnings.simplefilter("error", stload.StloadNotice)
        _np(tmp_path / "model.safetensors")
