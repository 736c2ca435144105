"""Fixtures: checkpoints written by st_files, with the tensors they hold."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

if os.environ.get("STLOAD_TEST_NO_TORCH") == "1":
    # Behave as a machine without torch: `import torch` fails, find_spec finds nothing.
    sys.modules["torch"] = None  # type: ignore[assignment]

from st_files import NO_REFERENCE, every_dtype, model_like, write_safetensors


@pytest.fixture
def dtypes_file(tmp_path: Path):
    """(path, tensors) of a file holding every dtype."""
    tensors = every_dtype()
    path = tmp_path / "dtypes.safetensors"
    write_safetensors(path, tensors, metadata={"format": "pt", "origin": "stload tests"})
    return path, tensors


@pytest.fixture
def reference_file(tmp_path: Path):
    """(path, tensors) of a file safetensors.torch reads: no F6, no F4 with an odd last dim."""
    tensors = {k: v for k, v in every_dtype().items()
               if v[0] not in NO_REFERENCE and k != "f4.odd_last"}
    path = tmp_path / "reference.safetensors"
    write_safetensors(path, tensors, metadata={"format": "pt"})
    return path, tensors


@pytest.fixture
def model_file(tmp_path: Path):
    tensors = model_like()
    path = tmp_path / "model.safetensors"
    write_safetensors(path, tensors)
    return path, tensors


@pytest.fixture
def sharded(tmp_path: Path):
    """(index path, tensors, {name: shard file name}) of a two-shard checkpoint."""
    tensors = model_like(layers=4, seed=2)
    names = list(tensors)
    half = len(names) // 2
    shards = {"model-00001-of-00002.safetensors": names[:half],
              "model-00002-of-00002.safetensors": names[half:]}
    weight_map = {}
    for file, members in shards.items():
        write_safetensors(tmp_path / file, {n: tensors[n] for n in members})
        weight_map.update({n: file for n in members})
    index = tmp_path / "model.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {"total_size": 0}, "weight_map": weight_map}))
    return index, tensors, weight_map
