"""stload.convert: any checkpoint stload reads (safetensors, torch.save ``.pt``/``.bin``, sharded)
written as safetensors by the C++ side, streamed from the files: the model is never loaded."""

from __future__ import annotations

import os
import re
from typing import Any, Dict, Optional, Union

from ._errors import InvalidArgumentError
from ._open import open_checkpoint
from ._paths import PathLike, fs_path

_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def _shard_bytes(shard_size: Union[None, int, str]) -> int:
    """``None`` -> 0 (one file); an int of bytes; or a string as transformers' max_shard_size
    ("5GB", "500MB") or the CLI's --shard-size ("5GiB")."""
    if shard_size is None:
        return 0
    if isinstance(shard_size, int) and not isinstance(shard_size, bool) and shard_size > 0:
        return shard_size
    if isinstance(shard_size, str):
        match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([KMGT]?I?B?)\s*", shard_size.upper())
        if match and match.group(2) in _UNITS and float(match.group(1)) > 0:
            return int(round(float(match.group(1)) * _UNITS[match.group(2)]))
    raise InvalidArgumentError(
        f"shard_size must be a positive number of bytes or a size such as '5GB' or '5GiB', "
        f"not {shard_size!r}",
        "InvalidArgument",
    )


def convert(
    src: PathLike,
    out: PathLike,
    dedupe_tied: bool = False,
    shard_size: Union[None, int, str] = None,
    *,
    merge: bool = False,
) -> Dict[str, Any]:
    """Writes the checkpoint `src` as safetensors at `out`, as ``stload convert`` does.

    Args:
        src: anything :func:`stload.load_file` opens: ``.safetensors``, a ``torch.save`` file
            (read without executing its pickle), a directory, a ``*.index.json``.
        out: the output file; with `shard_size`, a directory (created if missing).
        dedupe_tied: write exact duplicates (tied weights) once, under the first name in sorted
            order, listing the others in the metadata key ``"stload.tied"``; by default every
            key is written with its own bytes.
        shard_size: ``None`` for one file; else at most this many tensor bytes per shard,
            written as ``model-00001-of-0000N.safetensors`` and ``model.safetensors.index.json``.

    Returns:
        ``{"files": [...], "index": path or None, "tensors": n, "bytes": n,
        "tied": {dropped: kept}, "seconds": s}``, paths as ``str``.

    Raises:
        stload.StloadError: a subclass naming the file or tensor; no partial output is left.
    """
    shard_bytes = _shard_bytes(shard_size)
    checkpoint = open_checkpoint(src, merge)
    result = checkpoint.convert(fs_path(out, "out"), bool(dedupe_tied), shard_bytes)
    result["files"] = [os.fsdecode(f) for f in result["files"]]
    if result["index"] is not None:
        result["index"] = os.fsdecode(result["index"])
    return result
