"""The Python example (examples/python/load.py) runs as documented and reports what it loaded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python" / "load.py"


def test_example_loads_streams_and_slices_a_checkpoint(model_file):
    path, tensors = model_file
    result = subprocess.run([sys.executable, str(EXAMPLE), str(path)], capture_output=True,
                            text=True, env=dict(os.environ), timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert f"load_file: {len(tensors)} tensors" in result.stdout, result.stdout
    assert f"iter_tensors: {len(tensors)} tensors" in result.stdout, result.stdout
    assert "safe_open: " in result.stdout, result.stdout


def test_example_names_the_file_and_code_of_a_bad_checkpoint(tmp_path: Path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x04\x00\x00\x00\x00\x00\x00\x00{}")  # length says 4, two bytes follow
    result = subprocess.run([sys.executable, str(EXAMPLE), str(bad)], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode != 0
    assert str(bad) in result.stderr and "code " in result.stderr, result.stderr
