"""``load(data)``: a safetensors file held in memory, validated by the same C++ rules as a file."""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import numpy as np

from . import _frameworks as fw
from ._errors import InvalidArgumentError
from ._stload import _parse_buffer


def numpy_arrays(data: Any) -> Tuple[List[str], List[str], List[np.ndarray]]:
    """(names, dtypes, arrays) in data order. The arrays view one writable copy of `data`
    (as the reference's do), in the numpy carrier dtypes of docs/python.md."""
    if isinstance(data, str) or not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidArgumentError(
            f"load() takes the bytes of a safetensors file, not {type(data).__name__}",
            "InvalidArgument",
        )
    buffer = bytearray(data)
    _, tensors = _parse_buffer(data if isinstance(data, bytes) else bytes(buffer))
    names, dtypes, arrays = [], [], []
    for name, dtype, shape, begin, end in tensors:
        carrier = np.dtype(fw.numpy_carrier(dtype))
        array = np.frombuffer(buffer, dtype=np.uint8, count=end - begin, offset=begin)
        names.append(name)
        dtypes.append(dtype)
        arrays.append(array.view(carrier).reshape(fw.carrier_shape(dtype, shape, end - begin)))
    return names, dtypes, arrays


def numpy_dict(data: Any) -> Dict[str, np.ndarray]:
    names, _, arrays = numpy_arrays(data)
    return dict(zip(names, arrays))
