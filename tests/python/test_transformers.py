"""transformers' from_pretrained with stload swapped in for safetensors gives the same model.

transformers reads safetensors checkpoints through the names it imported into
transformers.modeling_utils (`safe_open`, and `load` for byte buffers); the swap replaces those,
which is what a user changing the import in that module would get. Skipped where transformers is
not installed (CI does not install it: it would cost more than this suite).
"""

from __future__ import annotations

import pytest

from st_files import torch_available

if not torch_available():
    pytest.skip("transformers needs torch, which is not installed", allow_module_level=True)
transformers = pytest.importorskip(
    "transformers", reason="transformers is not installed (CI does not install it)"
)


def tiny_gpt2(tmp_path, shards: bool):
    import torch

    torch.manual_seed(0)
    config = transformers.GPT2Config(
        n_layer=2, n_head=2, n_embd=16, n_positions=32, vocab_size=64, tie_word_embeddings=True
    )
    model = transformers.GPT2LMHeadModel(config)
    folder = tmp_path / ("sharded" if shards else "single")
    model.save_pretrained(folder, max_shard_size="20KB" if shards else "10GB")
    return folder, model


def swap_in_stload(monkeypatch):
    import stload
    import stload.torch

    modeling_utils = transformers.modeling_utils
    calls = []

    def counting_safe_open(*args, **kwargs):
        calls.append(args[0])
        return stload.safe_open(*args, **kwargs)

    assert hasattr(modeling_utils, "safe_open"), "transformers no longer imports safe_open there"
    monkeypatch.setattr(modeling_utils, "safe_open", counting_safe_open)
    if hasattr(modeling_utils, "_safe_load_bytes"):
        monkeypatch.setattr(modeling_utils, "_safe_load_bytes", stload.torch.load)
    if hasattr(modeling_utils, "safe_load_file"):
        monkeypatch.setattr(modeling_utils, "safe_load_file", stload.torch.load_file)
    return calls


@pytest.mark.parametrize("shards", [False, True], ids=["single", "sharded"])
def test_from_pretrained_with_stload_matches_safetensors(tmp_path, monkeypatch, shards):
    import torch

    folder, original = tiny_gpt2(tmp_path, shards)
    files = sorted(p.name for p in folder.glob("*.safetensors"))
    assert (len(files) > 1) == shards, files

    reference = transformers.GPT2LMHeadModel.from_pretrained(folder)
    calls = swap_in_stload(monkeypatch)
    ours = transformers.GPT2LMHeadModel.from_pretrained(folder)
    assert calls, "from_pretrained did not go through stload.safe_open"

    theirs, mine = reference.state_dict(), ours.state_dict()
    assert sorted(mine) == sorted(theirs) == sorted(original.state_dict())
    for name, tensor in theirs.items():
        assert mine[name].dtype == tensor.dtype and mine[name].shape == tensor.shape, name
        assert torch.equal(mine[name], tensor), name
        assert torch.equal(mine[name], original.state_dict()[name]), name
    # Tied weights stay tied after the load.
    assert ours.lm_head.weight.data_ptr() == ours.transformer.wte.weight.data_ptr()


@pytest.mark.parametrize("shards", [False, True], ids=["single", "sharded"])
def test_save_pretrained_pickle_output_loads_as_torch_load_reads_it(tmp_path, shards):
    """save_pretrained(safe_serialization=False) writes pytorch_model.bin (or shards with
    pytorch_model.bin.index.json): stload reads them without unpickling, equal to torch.load's
    result, and stload.convert turns them into safetensors that safetensors reads back equal."""
    import torch
    from safetensors.torch import load_file as st_load_file

    import stload

    torch.manual_seed(1)
    config = transformers.GPT2Config(
        n_layer=2, n_head=2, n_embd=16, n_positions=32, vocab_size=64, tie_word_embeddings=True
    )
    model = transformers.GPT2LMHeadModel(config).to(torch.bfloat16)
    folder = tmp_path / "pickled"
    model.save_pretrained(
        folder, safe_serialization=False, max_shard_size="4KB" if shards else "10GB"
    )
    bins = sorted(folder.glob("*.bin"))
    if not bins:  # transformers 5 dropped pickled output: it writes safetensors whatever is asked
        pytest.skip(f"transformers {transformers.__version__} writes no pytorch_model.bin")
    assert (len(bins) > 1) == shards, bins
    assert (folder / "pytorch_model.bin.index.json").exists() == shards

    reference = {}
    for path in bins:
        reference.update(torch.load(path, weights_only=True, map_location="cpu"))
    assert reference, "save_pretrained wrote no tensors"

    ours = stload.load_file(folder)
    assert sorted(ours) == sorted(reference)
    for name, tensor in reference.items():
        assert ours[name].dtype == tensor.dtype, name
        assert ours[name].shape == tensor.shape, name
        assert torch.equal(ours[name].contiguous().view(torch.uint8),
                           tensor.contiguous().view(torch.uint8)), name

    out = tmp_path / "converted.safetensors"
    stload.convert(folder, out)
    converted = st_load_file(out)
    assert sorted(converted) == sorted(reference)
    for name, tensor in reference.items():
        assert converted[name].dtype == tensor.dtype and torch.equal(converted[name], tensor), name
