"""Caller-owned memory for load_file: tensors of the caller's that checkpoint tensors are loaded
into (`destinations`), and allocators that give a load's arenas (`allocators`). The C++ loader
checks each against the plan (size, alignment to the element size, a device the engine has)
before any byte moves; this side checks what only Python knows: that a destination is contiguous
and writable, and, unless it is raw bytes, that its dtype and element count are the tensor's."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from . import _frameworks as fw
from ._errors import InvalidArgumentError

_RAW = ("uint8", "int8")  # a byte buffer takes any tensor's bytes


def _fail(message: str) -> InvalidArgumentError:
    return InvalidArgumentError(message, "InvalidArgument")


def _is_torch(obj: Any) -> bool:
    return type(obj).__module__.startswith("torch") and hasattr(obj, "data_ptr")


def _describe(name: str, obj: Any) -> Tuple[str, int, int, str, Tuple[int, ...]]:
    """(device text, pointer, bytes, dtype name, shape) of a destination, or InvalidArgumentError."""
    what = f"destination for tensor '{name}'"
    if _is_torch(obj):
        if not obj.is_contiguous():
            raise _fail(f"{what} is not contiguous")
        if obj.device.type not in ("cpu", "cuda"):
            raise _fail(f"{what} is on {obj.device}, not a cpu or cuda device")
        device = "cpu" if obj.device.type == "cpu" else f"cuda:{obj.device.index or 0}"
        dtype = str(obj.dtype).replace("torch.", "")
        return device, obj.data_ptr(), obj.numel() * obj.element_size(), dtype, tuple(obj.shape)
    interface = getattr(obj, "__array_interface__", None)
    if interface is not None:  # numpy and friends: host memory
        pointer, read_only = interface["data"]
        if read_only:
            raise _fail(f"{what} is read-only")
        if not obj.flags["C_CONTIGUOUS"]:
            raise _fail(f"{what} is not C-contiguous")
        return "cpu", pointer, obj.nbytes, str(obj.dtype), tuple(obj.shape)
    raise _fail(f"{what} must be a torch tensor or a numpy array, not {type(obj).__name__}")


def _check_kind(name: str, dtype: str, shape: Tuple[int, ...], record: Tuple[str, tuple]) -> None:
    """A typed destination must be the tensor's dtype and element count (bytes reinterpreted
    silently would be garbage); a uint8/int8 one takes the raw bytes."""
    if dtype in _RAW:
        return
    want_dtype, want_shape = record
    expected = {fw.numpy_carrier(want_dtype)}
    if want_dtype == "BF16":
        expected.add("bfloat16")
    if want_dtype in fw._TORCH_VIEWS:
        expected.add(fw._TORCH_VIEWS[want_dtype])
    if dtype not in expected:
        raise _fail(
            f"destination for tensor '{name}' is {dtype}; the tensor is {want_dtype} "
            f"(give a {' or '.join(sorted(expected))} or a uint8 buffer)"
        )
    count = 1
    for d in want_shape:
        count *= d
    have = 1
    for d in shape:
        have *= d
    if have != count:
        raise _fail(
            f"destination for tensor '{name}' holds {have} elements of shape {list(shape)}; "
            f"the tensor has {count} (shape {list(want_shape)})"
        )


def destination_specs(
    destinations: Optional[Mapping[str, Any]], records: Dict[str, Tuple[str, tuple]]
) -> List[Tuple[str, str, int, int]]:
    """(name, device, pointer, bytes) for the C++ loader, checked as the module doc says."""
    if destinations is None:
        return []
    if not isinstance(destinations, Mapping):
        raise _fail(
            f"destinations must be a dict of name -> tensor, not {type(destinations).__name__}"
        )
    specs = []
    for name, obj in destinations.items():
        device, pointer, nbytes, dtype, shape = _describe(str(name), obj)
        record = records.get(str(name))
        if record is not None:  # an unknown name is the loader's to report, with the checkpoint's
            _check_kind(str(name), dtype, shape, record)
        specs.append((str(name), device, int(pointer), int(nbytes)))
    return specs


def allocator_specs(
    allocators: Optional[Mapping[Any, Callable[[int, int], Any]]],
) -> List[Tuple[str, Callable[[int, int], Tuple[int, Any]]]]:
    """(device, raw allocator) pairs. The caller's allocator takes (nbytes, alignment) and returns
    a tensor or array of at least nbytes on that device; stload keeps it alive until the arena is
    released, and uses its first byte."""
    if allocators is None:
        return []
    if not isinstance(allocators, Mapping):
        raise _fail(
            f"allocators must be a dict of device -> callable, not {type(allocators).__name__}"
        )
    specs = []
    for device, allocate in allocators.items():
        text = fw.device_text(device)
        if not callable(allocate):
            raise _fail(f"the allocator for {text} is not callable")

        def raw(nbytes: int, alignment: int, allocate=allocate, text=text) -> Tuple[int, Any]:
            block = allocate(nbytes, alignment)
            where, pointer, size, _, _ = _describe(f"<arena on {text}>", block)
            wanted = "cuda:0" if text == "cuda" else text
            if where != wanted and not (where == "cpu" and wanted.startswith("cpu")):
                raise _fail(f"the allocator for {text} returned memory on {where}")
            if size < nbytes:
                raise _fail(f"the allocator for {text} returned {size} bytes of the {nbytes} asked")
            return int(pointer), block

        specs.append((text, raw))
    return specs
