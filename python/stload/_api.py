"""load_file and iter_tensors: whole-checkpoint loads through the C++ pipeline."""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, Iterable, Iterator, Optional, Tuple, Union

from . import _caller_memory as caller_memory
from . import _frameworks as fw
from ._open import open_checkpoint
from ._errors import InvalidArgumentError
from ._stload import _Model, _split_rule_set


def _export(model: _Model, framework: str) -> Tuple[list, list]:
    names = model.names()
    tensors = model.export_all(framework)
    if framework == "pt":
        fw.fix_torch_dtypes(tensors, model.dtypes())
    return names, tensors


def _tensor_parallel(tp: Optional[Tuple[int, int]], split: Any) -> Tuple[int, int, list]:
    """(rank, world, [(pattern, dim)]) for the C++ loader, from load_file's tp= and split=."""
    if tp is None and split is None:
        return 0, 1, []
    if tp is None or split is None:
        raise InvalidArgumentError(
            "tp=(rank, world) and split= go together (e.g. tp=(0, 4), split=\"llama\")",
            "InvalidArgument",
        )
    try:
        rank, world = (int(x) for x in tp)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"tp must be (rank, world), not {tp!r}", "InvalidArgument")
    if isinstance(split, str):
        rules = list(_split_rule_set(split))
    elif isinstance(split, dict):
        rules = []
        for pattern, dim in split.items():
            if isinstance(dim, bool) or not isinstance(dim, int) or dim < 0:
                raise InvalidArgumentError(
                    f"split: the dimension of {pattern!r} must be a whole number, not {dim!r}",
                    "InvalidArgument",
                )
            rules.append((str(pattern), dim))
    else:
        raise InvalidArgumentError(
            f"split must be a rule set's name or a dict, not {type(split).__name__}",
            "InvalidArgument",
        )
    if rank < 0 or world < 1:
        raise InvalidArgumentError(f"tp={tp!r}: rank >= 0 and world >= 1", "InvalidArgument")
    return rank, world, rules


# torch / numpy dtypes by the reference names dtype= passes on (see _dtype_text).
_DTYPE_NAMES = {
    "float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16",
    "float8_e4m3fn": "F8_E4M3", "float8_e5m2": "F8_E5M2",
}


def _dtype_name(value: Any) -> str:
    """A dtype= value (a reference name like "bf16", a torch.dtype or a numpy dtype) as a name."""
    if isinstance(value, str):  # a reference name ("bf16"), or numpy's / torch's ("float16")
        return _DTYPE_NAMES.get(value.lower().removeprefix("torch."), value)
    text = str(value)  # torch.dtype: "torch.bfloat16"; numpy: np.dtype(...).name
    if text.startswith("torch."):
        text = text[len("torch."):]
    else:
        try:
            import numpy as np

            text = np.dtype(value).name
        except TypeError:
            pass
    name = _DTYPE_NAMES.get(text)
    if name is None:
        raise InvalidArgumentError(
            f"dtype: {value!r} is no dtype stload converts to (floating types: "
            "F64, F32, F16, BF16; F8_E4M3 and F8_E5M2 convert from only)",
            "InvalidArgument",
        )
    return name


def _dtype_text(dtype: Any) -> str:
    """The C++ loader's text for dtype= (stload/dtype_rules.hpp): "" for none, a dtype name for
    every floating tensor, or a JSON object of name patterns to dtype names."""
    if dtype is None:
        return ""
    if isinstance(dtype, dict):
        return json.dumps({str(pattern): _dtype_name(value) for pattern, value in dtype.items()})
    return _dtype_name(dtype)


def load_file(
    filename: fw.PathLike,
    device: fw.DeviceLike = "cpu",
    device_map: Union[None, str, Dict[str, fw.DeviceLike]] = None,
    only: Union[None, str, Iterable[str]] = None,
    *,
    framework: Optional[str] = None,
    merge: bool = False,
    allow_unmatched: bool = False,
    zero_copy: bool = True,
    destinations: Optional[Dict[str, Any]] = None,
    allocators: Optional[Dict[Any, Callable[[int, int], Any]]] = None,
    tp: Optional[Tuple[int, int]] = None,
    split: Union[None, str, Dict[str, int]] = None,
    dtype: Any = None,
) -> Dict[str, Any]:
    """Loads a checkpoint into a dict of tensors, like ``safetensors.torch.load_file``.

    Args:
        filename: a ``.safetensors`` file, a PyTorch zip checkpoint (``.bin``/``.pt``, read as
            data, never unpickled), a directory of shards, or a ``*.index.json``, as
            ``str``, ``bytes`` or ``os.PathLike`` (names that are not UTF-8 included).
        device: where every tensor goes: ``"cpu"``, ``"cuda:0"``, ``0``, a ``torch.device``,
            or ``"auto"``. Ignored when ``device_map`` is given.
        device_map: Hugging Face style placement: ``{"model.layers.0": "cuda:0", "": "cpu"}``
            (keys are name patterns as for ``only``: exact names win, else the longest dotted
            prefix; ``""`` matches everything), or ``"auto"`` to fill the GPUs in file order.
        only: name patterns of the tensors to load: an exact name, a dotted module prefix
            (``"model.layers.1"`` selects ``model.layers.1.*`` but not ``model.layers.10``), or
            a glob whose ``*`` stays within one dotted segment (``"model.layers.*.mlp"``). An
            invalid pattern (empty, leading/trailing dot, ``**``) or, unless
            ``allow_unmatched``, one matching no tensor raises
            :class:`stload.InvalidArgumentError` (a ``ValueError``) naming it.
        framework: ``"pt"`` (torch tensors) or ``"np"`` (numpy arrays, host memory only).
            Default: torch when it is installed, numpy otherwise.
        merge: a directory without an index whose files are not one shard set (say
            ``model.safetensors`` and ``adapter_model.safetensors``) is refused unless this is
            true; then they load as one checkpoint. Which files were chosen, and why, is warned
            as :class:`stload.StloadNotice`.
        allow_unmatched: accept ``only`` patterns that match no tensor (and an empty result).
        zero_copy: tensors placed on the CPU are views of a private copy-on-write mapping of
            their file, as ``safetensors`` gives them: nothing is read until a tensor is touched,
            and writing into one changes this process's copy only, never the file. A tensor
            whose file offset is not a multiple of its element size is copied instead. False:
            every CPU tensor is copied into memory of stload's (a load that reads every byte
            now, and a model that no longer depends on the file staying as it is).

        destinations: name -> a tensor or array of yours (a server's pre-allocated weights, on
            the CPU or a GPU) that the checkpoint's tensor of that name is loaded into, whatever
            the device map says. Each must be contiguous and writable, and be the tensor's dtype
            and element count, or a uint8/int8 buffer of at least its bytes; its address must be
            aligned to the element size. The returned dict holds your objects for these names.
            stload neither frees nor keeps them: keep them alive as long as you use the result.
        allocators: device -> ``allocate(nbytes, alignment)`` returning a tensor or array of at
            least ``nbytes`` on that device (``lambda n, a: torch.empty(n, dtype=torch.uint8,
            device="cuda:0")``): the load's arena on that device is that memory, kept alive
            until the last loaded tensor of the arena is gone. Its address must be a multiple
            of ``alignment`` (256). An exception it raises fails the load (``OutOfMemoryError``).
            With ``zero_copy`` CPU tensors view their file and need no arena, so a ``"cpu"``
            allocator is called only for tensors copied anyway (or with ``zero_copy=False``).

        tp: ``(rank, world)``: tensor parallelism, load only this rank's part of the tensors
            ``split`` names (only those bytes are read); needs ``split``.
        split: which dimension each tensor splits on: a rule set's name (``"llama"``, also
            right for Qwen and Mistral names: q/k/v/gate/up, embeddings and lm_head on dim 0,
            o/down projections on dim 1) or a dict of name patterns (as for ``only``) to
            dimensions. Tensors no rule names load whole. A dimension ``world`` does not divide
            raises :class:`stload.InvalidArgumentError` naming the tensor.
        dtype: convert while loading: one target for every floating tensor (``"bf16"``,
            ``"F32"``, ``torch.float16``, ``numpy.float32``), or a dict of name patterns (as for
            ``only``) to targets, which win over it and may name any tensor. BF16, F16, F32 and
            F64 convert to each other, F8_E4M3 and F8_E5M2 to BF16, F16 and F32, rounding to
            nearest even as numpy / ml_dtypes do. Integer and bool tensors are never converted
            implicitly; an unsupported pair raises :class:`stload.InvalidArgumentError` naming
            the tensor before anything is read. Converted tensors are copies, never views of
            the file. Combines with ``tp``: the part is converted.

    Returns:
        name -> tensor, in file order. Tensors are not copies: they view the memory the loader
        wrote (or, with ``zero_copy``, the file's mapping), which is freed when the last of them
        is.

    Raises:
        stload.StloadError: with ``code`` naming the failure (subclasses also derive from
        ValueError, FileNotFoundError, KeyError, OSError, MemoryError or RuntimeError).
    """
    framework = fw.resolve_framework(framework)
    checkpoint = open_checkpoint(filename, merge)
    records = {name: (dtype, shape) for name, dtype, shape, _ in checkpoint.tensors()}
    model = checkpoint.load(
        fw.device_map_text(device, device_map),
        fw.only_list(only),
        False,
        None,
        framework == "np",
        allow_unmatched,
        zero_copy,
        caller_memory.destination_specs(destinations, records),
        caller_memory.allocator_specs(allocators),
        *_tensor_parallel(tp, split),
        _dtype_text(dtype),
    )
    names, tensors = _export(model, framework)
    loaded = dict(zip(names, tensors))
    for name, given in (destinations or {}).items():
        if name in loaded:
            loaded[name] = given  # the caller's own object, which holds the bytes now
    return loaded


def iter_tensors(
    filename: fw.PathLike,
    device: fw.DeviceLike = "cpu",
    device_map: Union[None, str, Dict[str, fw.DeviceLike]] = None,
    only: Union[None, str, Iterable[str]] = None,
    *,
    framework: Optional[str] = None,
    merge: bool = False,
    allow_unmatched: bool = False,
    zero_copy: bool = True,
    dtype: Any = None,
) -> Iterator[Tuple[str, Any]]:
    """Yields ``(name, tensor)`` in file order, as vLLM / SGLang weight loaders consume them.

    A sharded checkpoint is loaded one file at a time, so the memory held at once is one shard
    plus whatever the consumer keeps (an ``"auto"`` device_map loads the whole checkpoint at once,
    since it places tensors across shards). Arguments as for :func:`load_file`; the checkpoint's
    headers are read and validated when this is called, the data as iteration proceeds.
    """
    framework = fw.resolve_framework(framework)
    checkpoint = open_checkpoint(filename, merge)
    map_text = fw.device_map_text(device, device_map)
    selected = fw.only_list(only)
    files = len(checkpoint.files())
    per_file = files > 1 and map_text.strip() != "auto"
    dtype_text = _dtype_text(dtype)  # checked now, like the other arguments

    def generate() -> Iterator[Tuple[str, Any]]:
        for file in range(files) if per_file else [None]:
            model = checkpoint.load(
                map_text, selected, False, file, framework == "np", allow_unmatched, zero_copy,
                dtype=dtype_text,
            )
            names, tensors = _export(model, framework)
            del model
            # Hand each tensor over and forget it, so the consumer alone decides its lifetime.
            tensors.reverse()
            for name in names:
                yield name, tensors.pop()

    return generate()
