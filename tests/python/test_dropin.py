"""Swapping the import: the reference's own documented usage (its README and docs examples) runs
against `safetensors` and against `stload`, and both give the same results.

Each usage is a function of a package namespace (`pkg.numpy`, `pkg.torch`, `pkg.safe_open`,
`pkg.SafetensorError`) and a folder to work in; it returns what a user would look at. The test
runs it once per package and compares the two results (dtypes, shapes, bytes, keys, metadata,
return values), and the files each package wrote.
"""

from __future__ import annotations

import importlib
import json
import struct
import types
from pathlib import Path

import numpy as np
import pytest

from st_files import torch_available

PACKAGES = ("safetensors", "stload")


def package(name: str) -> types.SimpleNamespace:
    root = importlib.import_module(name)
    ns = types.SimpleNamespace(
        name=name,
        numpy=importlib.import_module(f"{name}.numpy"),
        safe_open=root.safe_open,
        SafetensorError=root.SafetensorError,
    )
    if torch_available():
        ns.torch = importlib.import_module(f"{name}.torch")
    return ns


def same(a, b, where="result") -> None:
    """Equal, tensor by tensor: type, dtype, shape, device and bytes."""
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), where
        assert (a.dtype, a.shape) == (b.dtype, b.shape), where
        assert a.tobytes() == b.tobytes(), where
        return
    if type(a).__module__.startswith("torch"):
        import torch

        if isinstance(a, torch.Tensor):
            assert isinstance(b, torch.Tensor), where
            assert (a.dtype, a.shape, a.device) == (b.dtype, b.shape, b.device), where
            def flat(t):
                return t.detach().cpu().contiguous().reshape(-1).view(torch.uint8)

            assert torch.equal(flat(a), flat(b)), where
            return
    if isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), where
        for key in a:
            same(a[key], b[key], f"{where}[{key!r}]")
        return
    if isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{i}]")
        return
    assert type(a) is type(b) and a == b, f"{where}: {a!r} != {b!r}"


def run_both(usage, tmp_path: Path):
    results = {}
    for name in PACKAGES:
        folder = tmp_path / name
        folder.mkdir()
        results[name] = usage(package(name), folder)
    same(results["safetensors"], results["stload"])
    return results


def written_files_are_identical(tmp_path: Path, file_name: str) -> None:
    ours = (tmp_path / "stload" / file_name).read_bytes()
    theirs = (tmp_path / "safetensors" / file_name).read_bytes()
    if ours == theirs:
        return
    # The reference writes two or more metadata keys in hash order, which varies from run to run
    # (stload sorts them): then the same header up to that order, and the same data.
    def split(raw: bytes):
        n = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8 : 8 + n])
        metadata = header.pop("__metadata__", None)
        return n, list(header.items()), metadata, raw[8 + n :]

    assert split(ours) == split(theirs)


# ---- numpy (no torch needed) ---------------------------------------------------------------


def numpy_readme(pkg, folder):
    # safetensors' README, "Numpy".
    tensors = {"a": np.zeros((2, 2)), "b": np.zeros((2, 3), dtype=np.uint8)}
    pkg.numpy.save_file(tensors, str(folder / "model.safetensors"))
    return pkg.numpy.load_file(str(folder / "model.safetensors"))


def numpy_values_and_metadata(pkg, folder):
    rng = np.random.default_rng(0)
    tensors = {
        "embedding": rng.standard_normal((16, 8)).astype(np.float32),
        "attention": rng.integers(-100, 100, (4, 4), dtype=np.int64),
        "mask": rng.integers(0, 2, (5,)).astype(bool),
        "half": rng.standard_normal((3, 2)).astype(np.float16),
        "scalar": np.array(7, dtype=np.int32),
        "empty": np.zeros((0, 3), dtype=np.float64),
    }
    pkg.numpy.save_file(tensors, folder / "model.safetensors", metadata={"format": "np"})
    with pkg.safe_open(folder / "model.safetensors", framework="np") as f:
        opened = {
            "keys": list(f.keys()),
            "offset_keys": list(f.offset_keys()),
            "metadata": f.metadata(),
            "tensors": {k: f.get_tensor(k) for k in f.keys()},
            "all": f.get_tensors(),
        }
    return pkg.numpy.load_file(folder / "model.safetensors"), opened


def numpy_bytes(pkg, folder):
    # docs: "save(tensors) -> bytes" and "load(data)".
    tensors = {"embedding": np.zeros((512, 16)), "attention": np.arange(16.0).reshape(4, 4)}
    byte_data = pkg.numpy.save(tensors, metadata={"format": "np"})
    return byte_data, pkg.numpy.load(byte_data)


def numpy_get_slice(pkg, folder):
    # docs, "Speed comparison" / get_slice: load only part of a tensor.
    embedding = np.arange(64 * 12, dtype=np.float32).reshape(64, 12)
    pkg.numpy.save_file({"embedding": embedding}, folder / "model.safetensors")
    with pkg.safe_open(folder / "model.safetensors", framework="np", device="cpu") as f:
        tensor_slice = f.get_slice("embedding")
        vocab_size, hidden_dim = tensor_slice.get_shape()
        return (
            [vocab_size, hidden_dim],
            tensor_slice.get_dtype(),
            tensor_slice[:, : hidden_dim // 2],
            tensor_slice[1:5],
            tensor_slice[3],
            tensor_slice[..., 2],
            tensor_slice[::4, 1::3],
        )


def numpy_catches_the_base_error(pkg, folder):
    # Code written for the reference catches SafetensorError; the swapped import must too.
    bad = folder / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    good = folder / "good.safetensors"
    pkg.numpy.save_file({"a": np.zeros(2)}, good)
    attempts = [
        lambda: pkg.numpy.load_file(bad),
        lambda: pkg.numpy.load(b"abc"),
        lambda: pkg.safe_open(bad, framework="np"),
        lambda: pkg.safe_open(good, framework="np").get_tensor("missing"),
    ]
    caught = []
    for attempt in attempts:
        try:
            attempt()
            caught.append("no error")
        except pkg.SafetensorError:
            caught.append("SafetensorError")
    return caught


NUMPY_USAGES = [numpy_readme, numpy_values_and_metadata, numpy_bytes, numpy_get_slice,
                numpy_catches_the_base_error]  # fmt: skip


@pytest.mark.parametrize("usage", NUMPY_USAGES, ids=lambda u: u.__name__)
def test_numpy_usage_gives_the_references_results(usage, tmp_path):
    run_both(usage, tmp_path)


def test_numpy_files_are_the_references_bytes(tmp_path):
    # One metadata key: the reference writes several in hash order, which varies (docs/python.md).
    run_both(numpy_values_and_metadata, tmp_path)
    written_files_are_identical(tmp_path, "model.safetensors")


@pytest.mark.parametrize("writer", PACKAGES)
@pytest.mark.parametrize("reader", PACKAGES)
def test_numpy_files_cross_load(writer, reader, tmp_path):
    tensors = {"w": np.arange(12, dtype=np.float32).reshape(3, 4), "i": np.arange(3)}
    package(writer).numpy.save_file(tensors, tmp_path / "x.safetensors", metadata={"k": "v"})
    loaded = package(reader).numpy.load_file(tmp_path / "x.safetensors")
    same(loaded, tensors)


# ---- torch ---------------------------------------------------------------------------------

needs_torch = pytest.mark.skipif(not torch_available(), reason="torch is not installed")


def torch_readme(pkg, folder):
    # safetensors' README, "Getting started": save_file, then safe_open / get_tensor.
    import torch

    torch.manual_seed(0)
    tensors = {"weight1": torch.randn((64, 64)), "weight2": torch.zeros((64, 64))}
    pkg.torch.save_file(tensors, "%s/model.safetensors" % folder)
    out = {}
    with pkg.safe_open("%s/model.safetensors" % folder, framework="pt", device="cpu") as f:
        for key in f.keys():
            out[key] = f.get_tensor(key)
    return out, pkg.torch.load_file("%s/model.safetensors" % folder)


def torch_dtypes_metadata_and_slices(pkg, folder):
    import torch

    torch.manual_seed(1)
    tensors = {
        "embedding": torch.randn(32, 16).to(torch.bfloat16),
        "f16": torch.randn(4, 4).half(),
        "f64": torch.randn(3, dtype=torch.float64),
        "i64": torch.arange(6).reshape(2, 3),
        "i8": torch.arange(-4, 4, dtype=torch.int8),
        "u8": torch.arange(8, dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "fp8": torch.randn(4, 4).to(torch.float8_e4m3fn),
        "c64": torch.randn(2, dtype=torch.complex64),
        "scalar": torch.tensor(1.5),
        "empty": torch.zeros(0, 2),
    }
    path = folder / "model.safetensors"
    pkg.torch.save_file(tensors, path, metadata={"format": "pt"})
    with pkg.safe_open(path, framework="pt", device="cpu") as f:
        slice_ = f.get_slice("embedding")
        got = {
            "keys": list(f.keys()),
            "offset_keys": list(f.offset_keys()),
            "metadata": f.metadata(),
            "shape": slice_.get_shape(),
            "dtype": slice_.get_dtype(),
            "columns": slice_[:, ::8],
            "rows": slice_[2:10],
            "one": slice_[5],
            "all": f.get_tensors(),
        }
    return got, pkg.torch.load_file(path)


def torch_bytes(pkg, folder):
    import torch

    tensors = {"embedding": torch.zeros((512, 16)), "attention": torch.arange(16.0).reshape(4, 4)}
    byte_data = pkg.torch.save(tensors)
    return byte_data, pkg.torch.load(byte_data)


class _Tied:
    """The model of the reference's docs on shared tensors: `b` is `a`."""

    @staticmethod
    def make():
        import torch

        class Model(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = torch.nn.Linear(16, 16)
                self.b = self.a

        torch.manual_seed(2)
        return Model()


def torch_save_model_tied(pkg, folder):
    import torch

    model = _Tied.make()
    pkg.torch.save_model(model, folder / "model.safetensors")
    with pkg.safe_open(folder / "model.safetensors", "pt") as f:
        stored = (list(f.keys()), f.metadata())
    fresh = _Tied.make()
    with torch.no_grad():
        for p in fresh.parameters():
            p.zero_()
    result = pkg.torch.load_model(fresh, folder / "model.safetensors")
    # A model without the tied name: missing and unexpected names, strict=False.
    lone = torch.nn.Linear(16, 16)
    loose = pkg.torch.load_model(lone, folder / "model.safetensors", strict=False)
    try:
        pkg.torch.load_model(torch.nn.Linear(16, 16), folder / "model.safetensors")
        strict = None
    except RuntimeError as e:
        strict = str(e)
    return stored, result, fresh.state_dict(), (set(loose[0]), sorted(loose[1])), strict


def torch_save_file_refuses_shared(pkg, folder):
    import torch

    a = torch.zeros(4)
    try:
        pkg.torch.save_file({"a": a, "b": a}, folder / "x.safetensors")
    except Exception as e:  # the reference raises RuntimeError, stload InvalidArgumentError
        return isinstance(e, (RuntimeError, ValueError))
    return False


TORCH_USAGES = [torch_readme, torch_dtypes_metadata_and_slices, torch_bytes,
                torch_save_model_tied, torch_save_file_refuses_shared]  # fmt: skip


@needs_torch
@pytest.mark.parametrize("usage", TORCH_USAGES, ids=lambda u: u.__name__)
def test_torch_usage_gives_the_references_results(usage, tmp_path):
    run_both(usage, tmp_path)


@needs_torch
def test_torch_files_are_the_references_bytes(tmp_path):
    run_both(torch_dtypes_metadata_and_slices, tmp_path)
    written_files_are_identical(tmp_path, "model.safetensors")


@needs_torch
def test_save_model_writes_the_references_file(tmp_path):
    run_both(torch_save_model_tied, tmp_path)
    written_files_are_identical(tmp_path, "model.safetensors")


@needs_torch
def test_load_model_returns_a_set_and_a_list_as_the_reference(tmp_path):
    import torch

    import stload.torch

    model = _Tied.make()
    stload.torch.save_model(model, tmp_path / "m.safetensors")
    missing, unexpected = stload.torch.load_model(
        torch.nn.Linear(16, 16), tmp_path / "m.safetensors", strict=False
    )
    assert isinstance(missing, set) and isinstance(unexpected, list)
    assert missing == {"weight", "bias"} and sorted(unexpected) == ["a.bias", "a.weight"]


def test_numpy_module_imports_without_torch():
    # stload.numpy must not need torch: import it in a process where torch cannot be imported.
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np, stload.numpy as n\n"
        "d = n.load(n.save({'a': np.arange(3)}))\n"
        "assert d['a'].tolist() == [0, 1, 2]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@needs_torch
def test_save_model_names_force_contiguous_for_a_strided_parameter(tmp_path):
    import torch

    import stload.torch

    model = torch.nn.Linear(4, 4)
    model.weight = torch.nn.Parameter(torch.zeros(4, 4).t())  # a transposed view: not contiguous
    with pytest.raises(stload.SafetensorError, match="force_contiguous=True"):
        stload.torch.save_model(model, tmp_path / "m.safetensors", force_contiguous=False)
    stload.torch.save_model(model, tmp_path / "m.safetensors")  # the default makes it contiguous
    assert stload.torch.load_model(torch.nn.Linear(4, 4), tmp_path / "m.safetensors") == (set(), [])


@pytest.mark.parametrize("backend", ["mmap", "pread"])
def test_backend_is_accepted_as_the_reference_takes_it(backend, tmp_path):
    import stload
    import stload.numpy

    stload.numpy.save_file({"a": np.arange(3)}, tmp_path / "a.safetensors")
    loaded = stload.numpy.load_file(tmp_path / "a.safetensors", backend=backend)
    assert loaded["a"].tolist() == [0, 1, 2]
    with stload.safe_open(tmp_path / "a.safetensors", "np", backend=backend) as f:
        assert f.keys() == ["a"]


def test_an_unknown_backend_is_refused(tmp_path):
    import stload
    import stload.numpy

    stload.numpy.save_file({"a": np.arange(3)}, tmp_path / "a.safetensors")
    with pytest.raises(stload.InvalidArgumentError, match="backend"):
        stload.safe_open(tmp_path / "a.safetensors", "np", backend="gds")
    with pytest.raises(stload.InvalidArgumentError, match="backend"):
        stload.numpy.load_file(tmp_path / "a.safetensors", backend="gds")
