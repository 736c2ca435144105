"""Framework handling: which of torch / numpy, device strings, and the dtypes DLPack cannot carry.

Tensors leave the extension as DLPack tensors of a "carrier" dtype with the same bytes. torch gets
every safetensors dtype it has: the float8 and float4 types are re-viewed here (a view, no copy).
numpy has no bfloat16, float8 or float4 types, so those stay raw bits (see docs/python.md).
"""

from __future__ import annotations

import importlib.util
import json
import os
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from ._errors import InvalidArgumentError

# safetensors dtype -> the torch dtype its carrier (uint8) is re-viewed as.
_TORCH_VIEWS = {
    "F8_E5M2": "float8_e5m2",
    "F8_E4M3": "float8_e4m3fn",
    "F8_E8M0": "float8_e8m0fnu",
    "F8_E4M3FNUZ": "float8_e4m3fnuz",
    "F8_E5M2FNUZ": "float8_e5m2fnuz",
    "F4": "float4_e2m1fn_x2",
}

# safetensors dtype -> numpy dtype name of its carrier; the same table the extension uses.
_NUMPY_CARRIERS = {
    "BOOL": "bool",
    "U8": "uint8",
    "I8": "int8",
    "I16": "int16",
    "U16": "uint16",
    "F16": "float16",
    "BF16": "uint16",
    "I32": "int32",
    "U32": "uint32",
    "F32": "float32",
    "C64": "complex64",
    "F64": "float64",
    "I64": "int64",
    "U64": "uint64",
    "F8_E5M2": "uint8",
    "F8_E4M3": "uint8",
    "F8_E8M0": "uint8",
    "F8_E4M3FNUZ": "uint8",
    "F8_E5M2FNUZ": "uint8",
    "F4": "uint8",
    "F6_E2M3": "uint8",
    "F6_E3M2": "uint8",
}

# Bits per element, as the format defines them.
BITS = {
    "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8,
    "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
    "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64, "U64": 64,
}  # fmt: skip

DeviceLike = Union[str, int, Any]  # "cpu", "cuda:1", 0, torch.device
PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


def torch_available() -> bool:
    """Whether torch can be imported (checked without importing it)."""
    return importlib.util.find_spec("torch") is not None


def resolve_framework(framework: Optional[str]) -> str:
    """"pt" or "np". None picks torch when it is installed, numpy otherwise."""
    if framework is None:
        return "pt" if torch_available() else "np"
    name = str(framework).lower()
    if name in ("pt", "torch", "pytorch"):
        if not torch_available():
            raise InvalidArgumentError(
                "framework='pt' needs torch, which is not installed; use framework='np'",
                "InvalidArgument",
            )
        return "pt"
    if name in ("np", "numpy"):
        return "np"
    raise InvalidArgumentError(
        f"framework {framework!r} is not one of 'pt' (torch) or 'np' (numpy)", "InvalidArgument"
    )


def device_text(device: DeviceLike) -> str:
    """"cpu", "cuda:1", ... from a string, an int (a CUDA ordinal, as in Hugging Face maps) or a
    torch.device."""
    if isinstance(device, bool):
        raise InvalidArgumentError(f"device {device!r} is not a device", "InvalidArgument")
    if isinstance(device, int):
        return f"cuda:{device}"
    return str(device)


def device_map_text(device: DeviceLike, device_map: Any) -> str:
    """The text the C++ DeviceMap parses: a device, "auto", or a JSON object of rules."""
    if device_map is None:
        return device_text(device)
    if isinstance(device_map, str):
        return device_map
    if isinstance(device_map, Mapping):
        return json.dumps({str(k): device_text(v) for k, v in device_map.items()})
    raise InvalidArgumentError(
        f"device_map must be a dict, 'auto' or a device string, not {type(device_map).__name__}",
        "InvalidArgument",
    )


def only_list(only: Union[None, str, Iterable[str]]) -> Optional[list]:
    if only is None:
        return None
    if isinstance(only, str):
        return [only]
    return [str(name) for name in only]


def fix_torch_dtypes(tensors: list, dtypes: Sequence[str]) -> None:
    """Re-views float8/float4 carriers as torch's dtypes, in place in `tensors`."""
    torch = None
    for i, dtype in enumerate(dtypes):
        target = _TORCH_VIEWS.get(dtype)
        if target is None:
            continue
        if torch is None:
            import torch
        tensors[i] = as_torch_dtype(torch, tensors[i], dtype)


def as_torch_dtype(torch: Any, tensor: Any, dtype: str) -> Any:
    target = getattr(torch, _TORCH_VIEWS[dtype], None)
    if target is None:  # an older torch: leave the raw bytes
        return tensor
    return tensor.view(target)  # same element size: the shape is kept


def torch_dtype(torch: Any, dtype: str) -> Any:
    """The torch dtype a tensor of safetensors `dtype` arrives as (see docs/python.md)."""
    if dtype == "BF16":
        return torch.bfloat16
    if dtype in _TORCH_VIEWS:
        return getattr(torch, _TORCH_VIEWS[dtype], torch.uint8)
    return getattr(torch, _NUMPY_CARRIERS[dtype])


def numpy_carrier(dtype: str) -> str:
    return _NUMPY_CARRIERS[dtype]


def carrier_shape(dtype: str, shape: Sequence[int], nbytes: int) -> tuple:
    """The exported shape, as the extension's carrier_shape computes it."""
    if dtype == "F4":
        if len(shape) > 0 and shape[-1] % 2 == 0:
            return (*shape[:-1], shape[-1] // 2)
        return (nbytes,)
    if dtype in ("F6_E2M3", "F6_E3M2"):
        return (nbytes,)
    return tuple(shape)
