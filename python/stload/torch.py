"""Drop-in for ``safetensors.torch``: the same functions, signatures, files and return values.

    from stload.torch import load_file, save_file   # was: from safetensors.torch import ...

Loading goes through stload's validating pipeline (so ``filename`` may also be a directory of
shards or an index, and ``device`` a GPU the tensors are streamed to). Saving writes the reference
writer's bytes. ``save_model`` / ``load_model`` treat tensors that share memory (tied weights) as
the reference does: one name is kept on save, the others are recorded in the metadata, and on
load the dropped names are neither missing nor unexpected.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, Iterable, List, Optional, Set, Tuple, Union

import torch

from . import _frameworks as fw
from . import _writer
from ._errors import InvalidArgumentError
from ._frombytes import numpy_arrays
from ._paths import PathLike
from ._safe_open import safe_open

__all__ = ["load_file", "load", "save_file", "save", "save_model", "load_model"]

# torch dtype name -> safetensors dtype (what the reference writes; older torch lacks some).
_NAMES = {
    "bool": "BOOL", "int8": "I8", "uint8": "U8", "int16": "I16", "uint16": "U16",
    "float16": "F16", "bfloat16": "BF16", "int32": "I32", "uint32": "U32", "float32": "F32",
    "complex64": "C64", "float64": "F64", "int64": "I64", "uint64": "U64",
    "float8_e5m2": "F8_E5M2", "float8_e4m3fn": "F8_E4M3", "float8_e8m0fnu": "F8_E8M0",
    "float8_e4m3fnuz": "F8_E4M3FNUZ", "float8_e5m2fnuz": "F8_E5M2FNUZ",
    "float4_e2m1fn_x2": "F4",
}  # fmt: skip


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).rsplit(".", 1)[-1]


# ---- loading -------------------------------------------------------------------------------


def load_file(
    filename: PathLike, device: Union[str, int] = "cpu", *, backend: str = "mmap"
) -> Dict[str, torch.Tensor]:
    """Loads every tensor of `filename` onto `device` (``"cpu"``, ``"cuda:1"``, 0, ``"meta"``)."""
    with safe_open(filename, framework="pt", device=device, backend=backend) as f:
        return f.get_tensors()


def load(data: bytes) -> Dict[str, torch.Tensor]:
    """Tensors of a safetensors file held in `data` (validated as a file is), on the CPU."""
    names, dtypes, arrays = numpy_arrays(data)
    out: Dict[str, torch.Tensor] = {}
    for name, dtype, array in zip(names, dtypes, arrays):
        tensor = torch.from_numpy(array)
        if dtype == "BF16":
            tensor = tensor.view(torch.bfloat16)
        elif dtype in fw._TORCH_VIEWS:
            tensor = fw.as_torch_dtype(torch, tensor, dtype)
        out[name] = tensor
    return out


# ---- saving --------------------------------------------------------------------------------


def _check_for_save(tensors: Dict[str, torch.Tensor]) -> None:
    if not isinstance(tensors, dict):
        raise InvalidArgumentError(
            f"expected a dict of str to torch.Tensor, not {type(tensors).__name__}",
            "InvalidArgument",
        )
    for name, tensor in tensors.items():
        if not isinstance(tensor, torch.Tensor):
            raise InvalidArgumentError(
                f"tensor '{name}': expected a torch.Tensor, not {type(tensor).__name__}",
                "InvalidArgument",
            )
        if tensor.layout != torch.strided:
            raise InvalidArgumentError(
                f"tensor '{name}' is sparse ({tensor.layout}); safetensors stores dense tensors: "
                "call .to_dense() first",
                "InvalidArgument",
            )
    shared = [names for names in _find_shared_tensors(tensors) if len(names) > 1]
    if shared:
        raise InvalidArgumentError(
            f"some tensors share memory, which would be stored twice and load as separate "
            f"tensors: {shared}; save_model() keeps one name of each group",
            "InvalidArgument",
        )


def _entries(tensors: Dict[str, torch.Tensor]) -> list:
    _check_for_save(tensors)
    entries = []
    for name, tensor in tensors.items():
        if not tensor.is_contiguous():
            raise InvalidArgumentError(
                f"tensor '{name}' is not contiguous; call .contiguous() on it before saving",
                "InvalidArgument",
            )
        dtype = _NAMES.get(_dtype_name(tensor.dtype))
        if dtype is None:
            raise InvalidArgumentError(
                f"tensor '{name}': torch dtype {tensor.dtype} has no safetensors dtype",
                "InvalidArgument",
            )
        tensor = tensor.detach().to("cpu")
        shape = list(tensor.shape)
        if dtype == "F4":  # two elements per byte: the header counts elements
            shape[-1] *= 2
        data = tensor.reshape(-1).view(torch.uint8).numpy()
        entries.append(_writer.Entry(name, dtype, shape, memoryview(data)))
    return entries


def save(tensors: Dict[str, torch.Tensor], metadata: Optional[Dict[str, str]] = None) -> bytes:
    """The bytes of a safetensors file holding `tensors` (the reference's bytes exactly)."""
    return _writer.serialize(_entries(tensors), metadata)


def save_file(
    tensors: Dict[str, torch.Tensor],
    filename: PathLike,
    metadata: Optional[Dict[str, str]] = None,
) -> None:
    """Writes `tensors` to `filename` (str, bytes or os.PathLike), replacing it atomically."""
    _writer.serialize_file(_entries(tensors), filename, metadata)


# ---- shared tensors (tied weights), as the reference finds and resolves them ---------------


def _storage(tensor: torch.Tensor) -> Tuple[int, int]:
    """(address, bytes) of the storage under `tensor`; (0, 0) where it has none (meta)."""
    try:
        storage = tensor.untyped_storage()
        return storage.data_ptr(), storage.nbytes()
    except (NotImplementedError, RuntimeError):
        return 0, 0


def _end(tensor: torch.Tensor) -> int:
    if tensor.nelement() == 0:
        return tensor.data_ptr()
    return tensor.view(-1)[-1].data_ptr() + tensor.element_size()


def _find_shared_tensors(state_dict: Dict[str, torch.Tensor]) -> List[Set[str]]:
    """Groups of names whose tensors overlap in memory (one name alone is a group too)."""
    by_storage: Dict[tuple, Set[str]] = defaultdict(set)
    for name, tensor in state_dict.items():
        address, size = _storage(tensor)
        if tensor.device.type != "meta" and address != 0 and size != 0:
            # The device is part of the key: two GPUs can hand out the same address.
            by_storage[(tensor.device, address, size)].add(name)
    groups: List[Set[str]] = []
    for names in sorted(by_storage.values()):
        if len(names) < 2:
            groups.append(names)
            continue
        # Views of one storage share memory only where their byte ranges overlap.
        areas = sorted((state_dict[n].data_ptr(), _end(state_dict[n]), n) for n in names)
        _, stop, first = areas[0]
        groups.append({first})
        for start, end, name in areas[1:]:
            if start >= stop:
                groups.append({name})
            else:
                groups[-1].add(name)
            stop = end
    return groups


def _is_complete(tensor: torch.Tensor) -> bool:
    """Whether `tensor` covers its whole storage (so saving it saves everything it shares)."""
    address, size = _storage(tensor)
    return tensor.data_ptr() == address and tensor.nelement() * tensor.element_size() == size


def _remove_duplicate_names(
    state_dict: Dict[str, torch.Tensor], *, preferred_names: Optional[Iterable[str]] = None
) -> Dict[str, List[str]]:
    """kept name -> the names sharing its memory that are dropped. The kept name covers the whole
    storage; among those, one of `preferred_names` (the file's, on load) wins, else the first."""
    preferred = set(preferred_names or ())
    to_remove: Dict[str, List[str]] = defaultdict(list)
    for group in _find_shared_tensors(state_dict):
        complete = sorted(name for name in group if _is_complete(state_dict[name]))
        if not complete:
            raise InvalidArgumentError(
                f"tensors {sorted(group)} share memory and none of them covers all of it, so no "
                "one name can be kept for them all; save them as separate (cloned) tensors",
                "InvalidArgument",
            )
        keep = complete[0]
        chosen = [name for name in complete if name in preferred]
        if chosen:
            keep = chosen[0]
        for name in sorted(group):
            if name != keep:
                to_remove[keep].append(name)
    return to_remove


def save_model(
    model: torch.nn.Module,
    filename: PathLike,
    metadata: Optional[Dict[str, str]] = None,
    force_contiguous: bool = True,
) -> None:
    """Saves `model.state_dict()`, keeping one name of each group of shared tensors; each dropped
    name is recorded in the metadata as ``dropped -> kept`` unless the caller's metadata already
    has that key."""
    state_dict = model.state_dict()
    for kept, dropped in _remove_duplicate_names(state_dict).items():
        for name in dropped:
            if metadata is None:
                metadata = {}
            metadata.setdefault(name, kept)
            del state_dict[name]
    if force_contiguous:
        state_dict = {name: tensor.contiguous() for name, tensor in state_dict.items()}
    try:
        save_file(state_dict, filename, metadata=metadata)
    except InvalidArgumentError as e:
        if force_contiguous or "not contiguous" not in e.message:
            raise
        # As the reference: point at the switch that makes every tensor contiguous.
        raise InvalidArgumentError(
            e.message + "; or use save_model(..., force_contiguous=True)", e.code
        ) from None


def load_model(
    model: torch.nn.Module,
    filename: PathLike,
    strict: bool = True,
    device: Union[str, int] = "cpu",
    *,
    backend: str = "mmap",
) -> Tuple[Set[str], List[str]]:
    """Loads `filename` into `model`. Returns ``(missing, unexpected)`` as the reference does (a
    set and a list): names of the model the file did not set, and names of the file the model
    does not have; names dropped by save_model as shared count as neither. With `strict`, either
    raises RuntimeError as ``torch.nn.Module.load_state_dict`` would."""
    state_dict = load_file(filename, device=device, backend=backend)
    to_remove = _remove_duplicate_names(model.state_dict(), preferred_names=state_dict.keys())
    missing_list, unexpected = model.load_state_dict(state_dict, strict=False)
    missing = set(missing_list)
    for dropped in to_remove.values():
        for name in dropped:
            if name in missing:
                missing.remove(name)
            else:
                unexpected.append(name)
    if strict and (missing or unexpected):
        error = f"Error(s) in loading state_dict for {model.__class__.__name__}:"
        if missing:
            error += "\n    Missing key(s) in state_dict: " + ", ".join(
                f'"{k}"' for k in sorted(missing)
            )
        if unexpected:
            error += "\n    Unexpected key(s) in state_dict: " + ", ".join(
                f'"{k}"' for k in sorted(unexpected)
            )
        raise RuntimeError(error)
    return missing, unexpected
