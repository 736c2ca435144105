"""Slicing tensors whose elements are smaller than a byte (F4: 4 bits, F6_E2M3 / F6_E3M2: 6 bits).

``get_slice(name)`` reports the header's shape, in elements, so its indexes are element indexes too:
``[0:2]`` selects two elements, never two packed bytes. The selected elements are gathered as whole
bytes, so every contiguous run of them must start and end on a byte boundary; otherwise the slice
is refused, with the reference implementation's wording (it has the same rule), instead of handing
back neighbouring elements. Only the selected bytes are read.
"""

from __future__ import annotations

from typing import Any, List, Sequence, Tuple

import numpy as np

from ._errors import InvalidArgumentError

BITS = {"F4": 4, "F6_E2M3": 6, "F6_E3M2": 6}


def _normalize(index: Any, shape: Sequence[int], label: str) -> List[Any]:
    """One int or range per dimension (ints and slices, with at most one Ellipsis)."""
    items = list(index) if isinstance(index, tuple) else [index]
    if sum(item is Ellipsis for item in items) > 1:
        raise IndexError(f"{label}: an index can only have a single ellipsis ('...')")
    if Ellipsis in items:
        at = items.index(Ellipsis)
        fill = len(shape) - (len(items) - 1)
        items[at : at + 1] = [slice(None)] * max(fill, 0)
    if len(items) > len(shape):
        raise IndexError(
            f"{label}: {len(items)} indexes for a tensor of {len(shape)} dimensions {list(shape)}"
        )
    items += [slice(None)] * (len(shape) - len(items))
    out: List[Any] = []
    for dim, (item, size) in enumerate(zip(items, shape)):
        if isinstance(item, slice):
            out.append(range(*item.indices(size)))
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            i = int(item)
            if not -size <= i < size:
                raise IndexError(
                    f"{label}: index {i} is out of bounds for dimension {dim} of size {size}"
                )
            out.append(i % size)
        else:
            raise InvalidArgumentError(
                f"{label}: a sub-byte tensor takes ints, slices and '...' as indexes, "
                f"not {type(item).__name__}",
                "InvalidArgument",
            )
    return out


def plan(dtype: str, shape: Sequence[int], index: Any, label: str) -> Tuple[np.ndarray, int, list]:
    """(byte offset of each contiguous run, bytes per run, result shape in elements) of
    ``tensor[index]``; raises when a run does not start and end on a byte boundary."""
    bits = BITS[dtype]
    picks = _normalize(index, shape, label)
    result_shape = [len(p) for p in picks if isinstance(p, range)]
    strides = [1] * len(shape)
    for d in range(len(shape) - 2, -1, -1):
        strides[d] = strides[d + 1] * shape[d + 1]
    # The trailing dimensions taken whole form contiguous runs with the last one that is not.
    j = len(shape) - 1
    while j >= 0 and isinstance(picks[j], range) and picks[j] == range(shape[j]):
        j -= 1
    inner = strides[j] if j >= 0 else int(np.prod(shape, dtype=np.int64))
    offsets = np.zeros(1, dtype=np.int64)
    run = inner
    for d in range(j + 1):
        p = picks[d]
        if d == j and isinstance(p, range) and p.step == 1:
            run = len(p) * inner  # one run over the consecutive rows of dimension j
            chosen = np.array([p.start], dtype=np.int64) if len(p) else np.zeros(0, np.int64)
        elif isinstance(p, range):
            chosen = np.arange(p.start, p.stop, p.step, dtype=np.int64)
        else:
            chosen = np.array([p], dtype=np.int64)
        offsets = (offsets[:, None] + chosen[None, :] * strides[d]).reshape(-1)
    if run == 0 or offsets.size == 0:
        return np.zeros(0, dtype=np.int64), 0, result_shape
    if (run * bits) % 8 or np.any((offsets * bits) % 8):
        raise InvalidArgumentError(
            f"{label}: error during slicing {_show(index)} with shape {list(shape)}: the slice is "
            f"slicing for subbytes dtypes ({dtype}, {bits} bits), and the slice does not end up at "
            "a byte boundary, this is invalid",
            "InvalidArgument",
        )
    return offsets * bits // 8, run * bits // 8, result_shape


def gather(raw: np.ndarray, offsets: np.ndarray, run: int) -> np.ndarray:
    """The bytes of the runs, in order, as one flat uint8 array (a copy)."""
    if run == 0 or offsets.size == 0:
        return np.zeros(0, dtype=np.uint8)
    if offsets.size == 1:
        return np.array(raw[offsets[0] : offsets[0] + run], copy=True)
    if run >= 16:
        # Long runs (a column block of each row): slice each, no index array 8x the result.
        return np.concatenate([raw[o : o + run] for o in offsets.tolist()])
    return raw[(offsets[:, None] + np.arange(run, dtype=np.int64)[None, :]).reshape(-1)]


def _show(index: Any) -> str:
    items = index if isinstance(index, tuple) else (index,)
    parts = []
    for item in items:
        if item is Ellipsis:
            parts.append("...")
        elif isinstance(item, slice):
            text = ("" if item.start is None else str(item.start)) + ":" + (
                "" if item.stop is None else str(item.stop)
            )
            if item.step is not None:
                text += f":{item.step}"
            parts.append(text)
        else:
            parts.append(repr(item))
    return "[" + ", ".join(parts) + "]"
