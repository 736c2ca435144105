"""stload.resolve_repo: repo ids found in a hub cache laid out as huggingface_hub lays it out
(blobs/<sha256>, refs/main, snapshots/<commit>/<file> -> ../../blobs/<sha256>), never the network."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

import stload
from st_files import write_safetensors

COMMIT_A = "0123456789abcdef0123456789abcdef01234567"
COMMIT_B = "fedcba9876543210fedcba9876543210fedcba98"


def add_file(repo: Path, commit: str, name: str, content: bytes) -> Path:
    sha = hashlib.sha256(content).hexdigest()
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    (repo / "blobs" / sha).write_bytes(content)
    link = repo / "snapshots" / commit / name
    link.parent.mkdir(parents=True, exist_ok=True)
    depth = len(Path(name).parts) - 1
    os.symlink(os.path.join(*([".."] * (2 + depth)), "blobs", sha), link)
    return link


def set_ref(repo: Path, ref: str, commit: str) -> None:
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / ref).write_text(commit)


def safetensors_bytes(tmp_path: Path, tensors) -> bytes:
    scratch = tmp_path / "scratch.safetensors"
    write_safetensors(scratch, tensors)
    return scratch.read_bytes()


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A cache with acme/tiny (two shards and an index on main, a tag v2 on another commit)."""
    cache = tmp_path / "hub"
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    repo = cache / "models--acme--tiny"
    s1 = "model-00001-of-00002.safetensors"
    s2 = "model-00002-of-00002.safetensors"
    add_file(repo, COMMIT_A, s1, safetensors_bytes(tmp_path, {"a": ("U8", [3], b"\x01\x02\x03")}))
    add_file(repo, COMMIT_A, s2, safetensors_bytes(tmp_path, {"b": ("U8", [2], b"\x04\x05")}))
    add_file(repo, COMMIT_A, "model.safetensors.index.json",
             json.dumps({"weight_map": {"a": s1, "b": s2}}).encode())
    set_ref(repo, "main", COMMIT_A)
    add_file(repo, COMMIT_B, "model.safetensors",
             safetensors_bytes(tmp_path, {"c": ("U8", [1], b"\x07")}))
    set_ref(repo, "v2", COMMIT_B)
    return cache, repo


def test_resolves_main_to_the_snapshot_which_loads(hub):
    cache, repo = hub
    path = stload.resolve_repo("acme/tiny")
    assert isinstance(path, str)
    assert Path(path) == repo / "snapshots" / COMMIT_A
    tensors = stload.load_file(path, framework="np")
    assert sorted(tensors) == ["a", "b"]
    assert bytes(tensors["b"].tobytes()) == b"\x04\x05"


def test_revision_by_ref_name_and_by_commit_hash(hub):
    _, repo = hub
    assert Path(stload.resolve_repo("acme/tiny", revision="v2")) == repo / "snapshots" / COMMIT_B
    assert Path(stload.resolve_repo("acme/tiny", COMMIT_B)) == repo / "snapshots" / COMMIT_B
    assert list(stload.load_file(stload.resolve_repo("acme/tiny", "v2"), framework="np")) == ["c"]


def test_cache_found_through_hf_home(tmp_path, monkeypatch):
    home = tmp_path / "hf_home"
    repo = home / "hub" / "models--acme--homed"
    add_file(repo, COMMIT_A, "model.safetensors",
             safetensors_bytes(tmp_path, {"h": ("U8", [1], b"\x09")}))
    set_ref(repo, "main", COMMIT_A)
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(home))
    assert Path(stload.resolve_repo("acme/homed")) == repo / "snapshots" / COMMIT_A


def test_unknown_repo_is_not_found_saying_where_and_how_to_fetch(hub):
    cache, _ = hub
    with pytest.raises(stload.NotFoundError) as raised:
        stload.resolve_repo("acme/absent")
    message = str(raised.value)
    assert str(cache / "models--acme--absent") in message
    assert "huggingface-cli download acme/absent" in message
    assert isinstance(raised.value, FileNotFoundError)


def test_unknown_revision_lists_the_refs_and_snapshots_looked_at(hub):
    _, repo = hub
    with pytest.raises(stload.NotFoundError) as raised:
        stload.resolve_repo("acme/tiny", revision="nope")
    assert str(repo / "refs" / "nope") in str(raised.value)
    assert str(repo / "snapshots" / "nope") in str(raised.value)


@pytest.mark.parametrize("repo_id", ["../etc", "a/b/c", "acme--x/y", ""])
def test_malformed_repo_id_is_invalid_argument(hub, repo_id):
    with pytest.raises(stload.InvalidArgumentError):
        stload.resolve_repo(repo_id)
