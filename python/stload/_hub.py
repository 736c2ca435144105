"""Repo ids resolved in the local Hugging Face hub cache, never on the network."""

from __future__ import annotations

import os

from . import _stload


def resolve_repo(repo_id: str, revision: str | None = None) -> str:
    """The snapshot directory of ``repo_id`` (``"ORG/NAME"``) in the local hub cache.

    The cache is ``HF_HUB_CACHE``, else ``HUGGINGFACE_HUB_CACHE``, else ``$HF_HOME/hub``, else
    ``$XDG_CACHE_HOME/huggingface/hub``, else ``~/.cache/huggingface/hub``, as huggingface_hub
    chooses it. ``revision`` is a ref (``"main"``, a branch, a tag) or a commit hash; ``None``
    means ``"main"``. The result is what ``huggingface_hub.snapshot_download(repo_id,
    local_files_only=True)`` returns, and loads with ``stload.load_file``.

    Raises ``stload.NotFoundError`` naming every path looked at and the ``huggingface-cli
    download`` command when the repo or revision is not cached, ``stload.InvalidArgumentError``
    for a malformed repo id or revision.
    """
    return os.fsdecode(_stload._resolve_repo(repo_id, revision or ""))
