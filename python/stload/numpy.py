"""Drop-in for ``safetensors.numpy``: the same functions, signatures and files.

    from stload.numpy import load_file, save_file   # was: from safetensors.numpy import ...

Works without torch. Loading goes through stload's validating pipeline (a file, a directory of
shards or an index); dtypes numpy lacks (BF16, F8_*, F4, F6_*) arrive as their raw bits in
unsigned integers where the reference raises (docs/python.md, "Dtypes").
"""

from __future__ import annotations

import sys
from typing import Dict, Optional

import numpy as np

from . import _writer
from ._api import load_file as _load_file
from ._errors import InvalidArgumentError
from ._frombytes import numpy_dict
from ._paths import PathLike
from ._safe_open import _BACKENDS

__all__ = ["load_file", "load", "save_file", "save"]

# numpy dtype name -> safetensors dtype, the types the reference's numpy module writes.
_NAMES = {
    "bool": "BOOL", "int8": "I8", "uint8": "U8", "int16": "I16", "uint16": "U16",
    "float16": "F16", "int32": "I32", "uint32": "U32", "float32": "F32", "complex64": "C64",
    "float64": "F64", "int64": "I64", "uint64": "U64",
}  # fmt: skip


def _entries(tensor_dict: Dict[str, np.ndarray]) -> list:
    if not isinstance(tensor_dict, dict):
        raise InvalidArgumentError(
            f"expected a dict of str to numpy.ndarray, not {type(tensor_dict).__name__}",
            "InvalidArgument",
        )
    entries = []
    for name, array in tensor_dict.items():
        if not isinstance(array, np.ndarray):
            raise InvalidArgumentError(
                f"tensor '{name}': expected a numpy.ndarray, not {type(array).__name__}",
                "InvalidArgument",
            )
        dtype = _NAMES.get(array.dtype.name)
        if dtype is None:
            raise InvalidArgumentError(
                f"tensor '{name}': numpy dtype {array.dtype} has no safetensors dtype",
                "InvalidArgument",
            )
        # The format is little-endian and C-ordered; a strided view is written as its values.
        if not array.flags.c_contiguous:
            array = array.copy(order="C")  # not ascontiguousarray: it makes 0-d arrays 1-d
        order = array.dtype.byteorder
        if order == ">" or (order == "=" and sys.byteorder == "big"):
            array = array.astype(array.dtype.newbyteorder("<"))
        entries.append(_writer.Entry(name, dtype, array.shape, _writer.as_bytes(array)))
    return entries


def save(tensor_dict: Dict[str, np.ndarray], metadata: Optional[Dict[str, str]] = None) -> bytes:
    """The bytes of a safetensors file holding `tensor_dict` (the reference's bytes exactly)."""
    return _writer.serialize(_entries(tensor_dict), metadata)


def save_file(
    tensor_dict: Dict[str, np.ndarray],
    filename: PathLike,
    metadata: Optional[Dict[str, str]] = None,
) -> None:
    """Writes `tensor_dict` to `filename` (str, bytes or os.PathLike), replacing it atomically."""
    _writer.serialize_file(_entries(tensor_dict), filename, metadata)


def load(data: bytes) -> Dict[str, np.ndarray]:
    """Tensors of a safetensors file held in `data`, validated as a file would be."""
    return numpy_dict(data)


def load_file(filename: PathLike, *, backend: str = "mmap") -> Dict[str, np.ndarray]:
    """Loads every tensor of `filename` (a file, a directory of shards or an index) into numpy
    arrays. `backend` is accepted as the reference's and ignored (stload picks mmap or pread)."""
    if backend not in _BACKENDS:
        raise InvalidArgumentError(
            f"backend {backend!r} is not one of 'mmap' or 'pread'", "InvalidArgument"
        )
    return _load_file(filename, device="cpu", framework="np")
