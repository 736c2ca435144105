"""stload.convert: what it writes reads back through the safetensors package equal to what
torch.load reads from the source (skipped without torch and safetensors); tied weights, shards,
and failures that leave no output (these without torch)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import stload

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "pt"


def _torch_and_safetensors():
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    return torch, st_torch


def _raw(torch, t):
    return t.contiguous().reshape(-1).view(torch.uint8)


def _assert_equal(torch, got: dict, want: dict) -> None:
    assert sorted(got) == sorted(want)
    for name, w in want.items():
        g = got[name]
        assert g.dtype == w.dtype, name
        assert tuple(g.shape) == tuple(w.shape), name
        assert torch.equal(_raw(torch, g), _raw(torch, w)), name


def _tied_state_dict(torch):
    g = torch.Generator().manual_seed(3)
    embed = torch.randn(16, 8, generator=g).to(torch.bfloat16)
    base = torch.arange(24, dtype=torch.float32)
    return {
        "model.embed_tokens.weight": embed,
        "lm_head.weight": embed,  # tied: one storage, same range
        "model.norm.weight": torch.ones(8, dtype=torch.float16),
        "buf.whole": base,
        "buf.view": base[4:16].view(3, 4),  # a view at an offset of the same storage
        "step": torch.tensor(7, dtype=torch.int64),
    }


@pytest.mark.parametrize("fixture", ["state_dict_dtypes.pt", "nested_checkpoint.pth"])
def test_converted_fixture_equals_torch_load(tmp_path: Path, fixture: str) -> None:
    torch, st_torch = _torch_and_safetensors()
    src = FIXTURES / fixture
    want = torch.load(src, weights_only=True)
    if "state_dict" in want:
        want = want["state_dict"]
    out = tmp_path / "out.safetensors"
    result = stload.convert(src, out)
    assert result["files"] == [str(out)] and result["index"] is None
    _assert_equal(torch, st_torch.load_file(out), want)


def test_tied_weights_and_views_by_default_and_deduped(tmp_path: Path) -> None:
    torch, st_torch = _torch_and_safetensors()
    from safetensors import safe_open

    src = tmp_path / "pytorch_model.bin"
    torch.save(_tied_state_dict(torch), src)
    want = torch.load(src, weights_only=True)

    every = tmp_path / "every.safetensors"
    stload.convert(src, every)
    _assert_equal(torch, st_torch.load_file(every), want)
    with safe_open(str(every), "pt") as f:
        assert f.metadata() == {"format": "pt"}

    deduped = tmp_path / "deduped.safetensors"
    result = stload.convert(src, deduped, dedupe_tied=True)
    assert result["tied"] == {"model.embed_tokens.weight": "lm_head.weight"}
    got = st_torch.load_file(deduped)
    _assert_equal(torch, got, {k: v for k, v in want.items() if k != "model.embed_tokens.weight"})
    with safe_open(str(deduped), "pt") as f:
        tied = json.loads(f.metadata()["stload.tied"])
    assert tied == {"model.embed_tokens.weight": "lm_head.weight"}


def test_sharded_output_loads_back_through_its_index(tmp_path: Path) -> None:
    torch, st_torch = _torch_and_safetensors()
    src = tmp_path / "model.pt"
    torch.save(_tied_state_dict(torch), src)
    want = torch.load(src, weights_only=True)
    out = tmp_path / "shards"
    result = stload.convert(src, out, shard_size="300B")
    assert len(result["files"]) > 1
    index = json.loads(Path(result["index"]).read_text())
    assert index["metadata"]["total_size"] == result["bytes"]
    assert sorted(index["weight_map"]) == sorted(want)
    got = {}
    for name in sorted(set(index["weight_map"].values())):
        got.update(st_torch.load_file(out / name))
    _assert_equal(torch, got, want)
    _assert_equal(torch, stload.load_file(out), want)


def test_bad_input_and_bad_shard_size_fail_and_leave_nothing(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a checkpoint, not a zip")
    with pytest.raises(stload.StloadError, match="junk.bin"):
        stload.convert(junk, tmp_path / "out.safetensors")
    with pytest.raises(stload.InvalidArgumentError, match="shard_size"):
        stload.convert(FIXTURES / "nested_checkpoint.pth", tmp_path / "o", shard_size="lots")
    with pytest.raises(stload.StloadError):
        stload.convert(FIXTURES / "nested_checkpoint.pth", junk / "under_a_file.safetensors")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.bin"]


def test_convert_without_torch_reads_back_through_stload(tmp_path: Path) -> None:
    out = tmp_path / "m"
    result = stload.convert(FIXTURES / "nested_checkpoint.pth", out, shard_size=10**9)
    assert result["files"] == [str(out / "model.safetensors")]
    assert result["tensors"] == 2
    with stload.safe_open(result["files"][0], "np") as f:
        assert sorted(f.keys()) == ["a.bias", "a.weight"]
        assert f.metadata() == {"format": "pt"}
