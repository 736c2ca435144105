"""Writing safetensors files (``save``, ``save_file`` of stload.torch and stload.numpy).

The bytes are the reference writer's, so a file saved by either package is the same file:
tensors ordered by dtype (widest first, in the format's dtype order) then by name, the header as
compact JSON (non-ASCII kept as UTF-8) padded with spaces to a multiple of 8 bytes, the data
contiguous in that order. One exception: the reference writes metadata keys in hash order, which
changes from run to run; stload sorts them, so with two or more metadata keys only the order of
those keys can differ (readers do not care).
"""

from __future__ import annotations

import json
import os
import struct
from typing import TYPE_CHECKING, Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence

from ._errors import InvalidArgumentError
from ._frameworks import BITS
from ._paths import fs_path, os_error

if TYPE_CHECKING:
    import numpy as np

# The format's dtype order (the reference's enum order); the writer puts larger ones first.
_ORDER = {dtype: rank for rank, dtype in enumerate(BITS)}


class Entry(NamedTuple):
    name: str
    dtype: str  # safetensors name, e.g. "BF16"
    shape: Sequence[int]  # in elements, as the header states it
    data: memoryview  # the tensor's bytes, C order, little-endian


def as_bytes(array: "np.ndarray") -> memoryview:
    """The bytes of a C-contiguous numpy array (any dtype, 0-d included), without a copy."""
    return memoryview(array.reshape(-1).view("uint8"))


def _check_metadata(metadata: Optional[Mapping[str, str]]) -> Optional[Dict[str, str]]:
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise InvalidArgumentError(
            f"metadata must be a dict of str to str, not {type(metadata).__name__}",
            "InvalidArgument",
        )
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidArgumentError(
                f"metadata must map str to str; {key!r}: {value!r} does not", "InvalidArgument"
            )
    return dict(metadata)


def _ordered(entries: Iterable[Entry]) -> List[Entry]:
    out = list(entries)
    for entry in out:
        if entry.name == "__metadata__":
            raise InvalidArgumentError(
                "a tensor cannot be named '__metadata__' (the header's metadata key)",
                "InvalidArgument",
            )
        elements = 1
        for dim in entry.shape:
            elements *= dim
        if elements * BITS[entry.dtype] != entry.data.nbytes * 8:
            raise InvalidArgumentError(
                f"tensor '{entry.name}': {entry.data.nbytes} bytes for {entry.dtype} of shape "
                f"{list(entry.shape)}",
                "InvalidArgument",
            )
    out.sort(key=lambda e: (-_ORDER[e.dtype], e.name))
    return out


def header(entries: List[Entry], metadata: Optional[Dict[str, str]]) -> bytes:
    """The 8-byte length and the padded JSON header for `entries`, already ordered."""
    fields: Dict[str, object] = {}
    if metadata is not None:
        fields["__metadata__"] = dict(sorted(metadata.items()))
    offset = 0
    for entry in entries:
        end = offset + entry.data.nbytes
        fields[entry.name] = {
            "dtype": entry.dtype,
            "shape": [int(d) for d in entry.shape],
            "data_offsets": [offset, end],
        }
        offset = end
    text = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text


def serialize(entries: Iterable[Entry], metadata: Optional[Mapping[str, str]]) -> bytes:
    ordered = _ordered(entries)
    parts = [header(ordered, _check_metadata(metadata))]
    parts.extend(entry.data for entry in ordered)
    return b"".join(parts)


def serialize_file(
    entries: Iterable[Entry], filename: object, metadata: Optional[Mapping[str, str]]
) -> None:
    """Writes the file tensor by tensor (never the whole file in memory at once).

    As the reference does, the bytes go to a temporary file beside `filename` that then replaces
    it, so a reader never sees half a file and a failed save leaves any old file as it was. Unlike
    the reference's (mode 0600), the file gets the permissions ``open()`` would give it (umask).
    """
    raw = fs_path(filename)
    ordered = _ordered(entries)
    head = header(ordered, _check_metadata(metadata))
    folder, base = os.path.split(raw)
    temporary = os.path.join(folder, b"." + base + b"." + os.urandom(6).hex().encode() + b".tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except OSError as e:
        raise os_error(e, raw, "write") from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(head)
            for entry in ordered:
                f.write(entry.data)
        os.replace(temporary, raw)
    except OSError as e:
        _remove(temporary)
        raise os_error(e, raw, "write") from e
    except BaseException:
        _remove(temporary)
        raise


def _remove(path: bytes) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
