"""Non-contiguous tensors as torch.save writes them (t.T, permute, x[:, ::2], views at an offset,
expand's stride 0, bf16 and the other dtypes) load through stload equal to torch.load's tensors
made contiguous: dtype, shape and bytes; and `stload.convert` writes them so that the
safetensors file loads the same (read by stload and by the safetensors package). Skipped
without torch."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
import stload  # noqa: E402


def raw(t: "torch.Tensor") -> bytes:
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def assert_equal(got, want) -> None:
    assert sorted(got) == sorted(want)
    for name, w in want.items():
        g = got[name]
        assert g.dtype == w.dtype, name
        assert tuple(g.shape) == tuple(w.shape), name
        assert raw(g) == raw(w), name


def views(gen) -> dict:
    def rand(*shape, dtype=torch.float32):
        return torch.randn(*shape, generator=gen).to(dtype)

    base4 = rand(2, 3, 4, 5, dtype=torch.float64)
    sd = {
        "t_f32": rand(5, 7).t(),
        "t_bf16": rand(6, 9, dtype=torch.bfloat16).T,
        "t_f16": rand(4, 3, dtype=torch.float16).mT,
        "t_i64": torch.randint(-1000, 1000, (3, 8), generator=gen).t(),
        "t_u8": torch.randint(0, 255, (9, 4), generator=gen, dtype=torch.uint8).t(),
        "permute3": rand(2, 3, 4).permute(2, 0, 1),
        "permute4": base4.permute(3, 1, 0, 2),
        "gaps": rand(4, 10)[:, ::2],
        "rows": rand(8, 6, dtype=torch.bfloat16)[::3],
        "corner": rand(5, 6)[1:, 2:],
        "steps": torch.randint(-99, 99, (7, 9), generator=gen, dtype=torch.int16)[1::2, 2::3],
        "expand_row": rand(1, 6).expand(4, 6),
        "expand_col": rand(3, 1, dtype=torch.bfloat16).expand(3, 5),
        "expand_new": rand(4).expand(2, 3, 4),
        "big_t": rand(300, 500).t(),  # 600 KB: several chunks at the default chunk size too
        "plain": rand(3, 3),
        "offset_plain": rand(10)[4:],
    }
    return sd


def test_strided_views_load_equal_to_torch_load(tmp_path):
    gen = torch.Generator().manual_seed(16)
    sd = views(gen)
    path = tmp_path / "strided.pt"
    torch.save(sd, path)
    want = torch.load(path, weights_only=True)
    assert not want["t_f32"].is_contiguous()  # torch.save kept the views
    assert want["expand_row"].stride() == (0, 1)
    assert_equal(stload.load_file(path), want)


def test_strided_views_convert_to_safetensors_that_load_the_same(tmp_path):
    gen = torch.Generator().manual_seed(17)
    path = tmp_path / "strided.pt"
    torch.save(views(gen), path)
    want = torch.load(path, weights_only=True)
    out = tmp_path / "strided.safetensors"
    stload.convert(path, out)
    assert_equal(stload.load_file(out), want)
    safetensors_torch = pytest.importorskip("safetensors.torch")
    assert_equal(safetensors_torch.load_file(str(out)), want)


def test_sharded_convert_of_strided_views(tmp_path):
    gen = torch.Generator().manual_seed(18)
    path = tmp_path / "strided.pt"
    torch.save(views(gen), path)
    want = torch.load(path, weights_only=True)
    out = tmp_path / "shards"
    stload.convert(path, out, shard_size=100_000)
    assert_equal(stload.load_file(out), want)


def test_safe_open_slices_and_tensors_of_strided_views_equal_torch_load(tmp_path):
    gen = torch.Generator().manual_seed(19)
    path = tmp_path / "strided.pt"
    torch.save(views(gen), path)
    want = torch.load(path, weights_only=True)
    with stload.safe_open(path, framework="pt") as f:
        for name, w in want.items():
            got = f.get_tensor(name)
            assert got.dtype == w.dtype and raw(got) == raw(w), name
            if w.dim() >= 2:
                index = (slice(1, None, 2), slice(None, -1))
                part = f.get_slice(name)[index]
                assert tuple(part.shape) == tuple(w[index].shape), name
                assert raw(part) == raw(w[index]), name
            else:
                assert raw(f.get_slice(name)[1:]) == raw(w[1:]), name
