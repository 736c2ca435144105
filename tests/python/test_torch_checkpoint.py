"""PyTorch checkpoints written by torch.save load through stload equal to torch.load's tensors:
dtype, shape and bytes. Skipped without torch."""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
import stload  # noqa: E402

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32,
          torch.int16, torch.int8, torch.uint8, torch.bool, torch.complex64, torch.uint16,
          torch.uint32, torch.uint64]
DTYPES += [getattr(torch, name) for name in
           ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu")
           if hasattr(torch, name)]


def raw(t: "torch.Tensor") -> bytes:
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def assert_same(path: Path, key=None) -> None:
    want = torch.load(path, weights_only=True)
    if key is not None:
        want = want[key]
    got = stload.load_file(path)
    assert sorted(got) == sorted(want)
    for name, w in want.items():
        g = got[name]
        assert g.dtype == w.dtype, name
        assert tuple(g.shape) == tuple(w.shape), name
        assert raw(g) == raw(w), name


def random_of(dtype, shape, gen):
    n = 1
    for d in shape:
        n *= d
    size = torch.empty((), dtype=dtype).element_size()
    high = 2 if dtype == torch.bool else 256
    return torch.randint(0, high, (n * size,), dtype=torch.uint8, generator=gen).view(dtype).reshape(shape)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_every_dtype_torch_writes_loads_as_torch_load_reads_it(tmp_path, dtype):
    gen = torch.Generator().manual_seed(0)
    sd = {"t": random_of(dtype, (3, 5), gen), "scalar": random_of(dtype, (), gen)}
    path = tmp_path / "m.pt"
    torch.save(sd, path)
    assert_same(path)


def test_shared_storages_views_with_offsets_and_parameters(tmp_path):
    base = torch.arange(64, dtype=torch.bfloat16)
    sd = {
        "whole": base,
        "view": base[10:30].view(4, 5),
        "tail": base[60:],
        "tied": base,
        "param": torch.nn.Parameter(torch.randn(4, 4)),
        "empty": torch.zeros(0, 3),
    }
    path = tmp_path / "pytorch_model.bin"
    torch.save(sd, path)
    assert_same(path)


def test_module_state_dict_with_its_metadata(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3),
                                torch.nn.BatchNorm1d(3))
    path = tmp_path / "model.pth"
    torch.save(model.state_dict(), path)
    assert_same(path)


def test_nested_state_dict_is_read_and_the_rest_is_not(tmp_path):
    model = torch.nn.Linear(4, 3)
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(2, 4)).sum().backward()
    opt.step()
    path = tmp_path / "ckpt.pt"
    torch.save({"state_dict": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 4}, path)
    assert_same(path, "state_dict")


def test_three_hundred_tensors_each_in_its_own_storage_are_read(tmp_path):
    sd = {f"layer.{i}.weight": torch.full((i + 1,), float(i)) for i in range(300)}
    path = tmp_path / "many.pt"
    torch.save(sd, path)
    assert_same(path)


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch " + str(Exploit.marker),))


def test_a_pickle_that_would_run_os_system_is_refused_and_runs_nothing(tmp_path):
    Exploit.marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"w": torch.ones(2), "x": Exploit()}, path)
    with pytest.raises(stload.StloadError) as info:
        stload.load_file(path)
    assert "system" in str(info.value) and "refused global" in str(info.value)
    assert not Exploit.marker.exists()
    # torch's own strict unpickler refuses it as well: the two agree on this file.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    assert not Exploit.marker.exists()


def test_legacy_format_is_refused_saying_what_to_do(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(stload.StloadError, match="legacy"):
        stload.load_file(path)


def test_archive_is_what_the_reader_expects(tmp_path):
    # The layout the C++ reader relies on: stored entries, data.pkl under one archive folder.
    path = tmp_path / "m.pt"
    torch.save({"w": torch.ones(2)}, path)
    with zipfile.ZipFile(path) as z:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
        assert any(n.endswith("/data.pkl") and n.count("/") == 1 for n in z.namelist())
