"""safe_open: safetensors' lazy, per-tensor interface over stload."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

from . import _frameworks as fw
from ._errors import TensorNotFoundError
from ._stload import _Checkpoint


class safe_open:  # noqa: N801 - the name safetensors users already write
    """Opens a checkpoint lazily, as ``safetensors.safe_open`` does.

    Opening reads and validates the headers only. ``get_tensor`` loads one tensor through the
    pipeline onto ``device`` (no copy after the load: the tensor owns the memory it was loaded
    into). ``get_slice(name)[...]`` reads just the requested part from the file mapping.

    Args:
        filename: a ``.safetensors`` file, a directory of shards, or a ``*.index.json``.
        framework: ``"pt"`` (torch) or ``"np"`` (numpy); None picks torch when installed.
        device: ``"cpu"``, ``"cuda:0"``, an int or a torch.device.
    """

    def __init__(
        self, filename: fw.PathLike, framework: Optional[str] = None, device: fw.DeviceLike = "cpu"
    ) -> None:
        self._framework = fw.resolve_framework(framework)
        self._device = fw.device_text(device)
        self._path = os.fspath(filename)
        self._checkpoint: Optional[_Checkpoint] = _Checkpoint(self._path)
        self._info: Dict[str, tuple] = {
            name: (dtype, shape) for name, dtype, shape, _ in self._checkpoint.tensors()
        }
        self._order = list(self._info)

    def __enter__(self) -> "safe_open":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Releases the file mappings; tensors already returned stay valid."""
        self._checkpoint = None

    def _open(self) -> _Checkpoint:
        if self._checkpoint is None:
            raise ValueError(f"safe_open({self._path!r}) is closed")
        return self._checkpoint

    def _require(self, name: str) -> tuple:
        info = self._info.get(name)
        if info is None:
            raise TensorNotFoundError(f"no tensor '{name}' in {self._path}", "TensorNotFound")
        return info

    def keys(self) -> List[str]:
        """Tensor names, sorted (as safetensors returns them)."""
        return sorted(self._info)

    def offset_keys(self) -> List[str]:
        """Tensor names in the order of their data in the file(s)."""
        return list(self._order)

    def metadata(self) -> Optional[Dict[str, str]]:
        """The ``__metadata__`` of the (first) file, or None when it has none."""
        return self._open().metadata() or None

    def get_tensor(self, name: str) -> Any:
        """Loads the tensor ``name`` onto the device given at opening."""
        dtype, _ = self._require(name)
        model = self._open().load(self._device, [name], True, None, self._framework == "np")
        tensor = model.export_one(name, self._framework)
        if self._framework == "pt" and dtype in fw._TORCH_VIEWS:
            import torch

            tensor = fw.as_torch_dtype(torch, tensor, dtype)
        return tensor

    def get_slice(self, name: str) -> "TensorSlice":
        """A lazy slice: index it (``[0:2, :]``) to read only those elements."""
        dtype, shape = self._require(name)
        return TensorSlice(self, name, dtype, shape)


class TensorSlice:
    """What :meth:`safe_open.get_slice` returns: shape and dtype now, data when indexed."""

    def __init__(self, owner: safe_open, name: str, dtype: str, shape: tuple) -> None:
        self._owner = owner
        self._name = name
        self._dtype = dtype
        self._shape = tuple(shape)

    def get_shape(self) -> List[int]:
        return list(self._shape)

    def get_dtype(self) -> str:
        """The safetensors dtype name, e.g. ``"BF16"``."""
        return self._dtype

    @property
    def shape(self) -> tuple:
        return self._shape

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of a 0-d tensor")
        return self._shape[0]

    def __getitem__(self, index: Any) -> Any:
        import numpy as np

        # The bytes stay in the page cache mapping; only the selected elements are copied out.
        raw = self._owner._open().mapped(self._name)
        view = raw.view(np.dtype(fw.numpy_carrier(self._dtype))).reshape(
            fw.carrier_shape(self._dtype, self._shape, raw.nbytes)
        )
        part = np.array(view[index], copy=True)
        if self._owner._framework == "np":
            return part
        import torch

        tensor = torch.from_numpy(part)
        if self._dtype == "BF16":
            tensor = tensor.view(torch.bfloat16)
        elif self._dtype in fw._TORCH_VIEWS:
            tensor = fw.as_torch_dtype(torch, tensor, self._dtype)
        if self._owner._device != "cpu":
            tensor = tensor.to(self._owner._device)
        return tensor
