"""safe_open: safetensors' lazy, per-tensor interface over stload."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from . import _frameworks as fw
from . import _subbyte
from ._errors import InvalidArgumentError, TensorNotFoundError
from ._open import open_checkpoint
from ._paths import display, fs_path
from ._stload import _Checkpoint

# What the reference's `backend=` takes. stload picks mapping or pread per file itself (from how
# much of the file is cached), so the choice is accepted, checked and otherwise ignored.
_BACKENDS = (None, "mmap", "pread")


class safe_open:  # noqa: N801 - the name safetensors users already write
    """Opens a checkpoint lazily, as ``safetensors.safe_open`` does.

    Opening reads and validates the headers only. ``get_tensor`` loads one tensor through the
    pipeline onto ``device`` (no copy after the load: the tensor owns the memory it was loaded
    into). ``get_slice(name)[...]`` reads just the requested part from the file mapping.

    Args:
        filename: a ``.safetensors`` file, a directory of shards, or a ``*.index.json``, as
            ``str``, ``bytes`` or ``os.PathLike``.
        framework: ``"pt"`` (torch) or ``"np"`` (numpy); None picks torch when installed.
        device: ``"cpu"``, ``"cuda:0"``, an int or a torch.device; ``"meta"`` (torch only) gives
            tensors with shape and dtype but no data, and reads no tensor data.
        backend: as the reference's (``"mmap"`` or ``"pread"``); accepted for code that passes
            it (transformers does) and ignored: stload chooses how to read each file itself.
        merge: as for :func:`stload.load_file` (stload's own, keyword only).
    """

    def __init__(
        self,
        filename: fw.PathLike,
        framework: Optional[str] = None,
        device: fw.DeviceLike = "cpu",
        backend: Optional[str] = None,
        *,
        merge: bool = False,
    ) -> None:
        self._framework = fw.resolve_framework(framework)
        self._device = fw.device_text(device)
        self._meta = self._device == "meta"
        if self._meta and self._framework != "pt":
            raise InvalidArgumentError(
                "device='meta' is torch's (framework='pt'); numpy arrays always hold data",
                "InvalidArgument",
            )
        if backend not in _BACKENDS:
            raise InvalidArgumentError(
                f"backend {backend!r} is not one of 'mmap' or 'pread'", "InvalidArgument"
            )
        raw = fs_path(filename)
        self._path = display(raw)
        self._checkpoint: Optional[_Checkpoint] = open_checkpoint(raw, merge)
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
            raise InvalidArgumentError(f"safe_open({self._path!r}) is closed", "InvalidArgument")
        return self._checkpoint

    def _require(self, name: str) -> tuple:
        self._open()
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
        dtype, shape = self._require(name)
        if self._meta:
            return _meta_tensor(dtype, shape)
        model = self._open().load(
            self._device, [name], True, None, self._framework == "np", zero_copy=True
        )
        tensor = model.export_one(name, self._framework)
        if self._framework == "pt" and dtype in fw._TORCH_VIEWS:
            import torch

            tensor = fw.as_torch_dtype(torch, tensor, dtype)
        return tensor

    def get_tensors(self) -> Dict[str, Any]:
        """Every tensor, name -> tensor in data order, loaded in one pass of the pipeline."""
        checkpoint = self._open()
        if self._meta:
            return {name: _meta_tensor(*self._info[name]) for name in self._order}
        model = checkpoint.load(
            self._device, None, False, None, self._framework == "np", zero_copy=True
        )
        names = model.names()
        tensors = model.export_all(self._framework)
        if self._framework == "pt":
            fw.fix_torch_dtypes(tensors, model.dtypes())
        return dict(zip(names, tensors))

    def get_slice(self, name: str) -> "TensorSlice":
        """A lazy slice: index it (``[0:2, :]``) to read only those elements."""
        dtype, shape = self._require(name)
        return TensorSlice(self, name, dtype, shape)


def _meta_tensor(dtype: str, shape: tuple, nbytes: Optional[int] = None) -> Any:
    """A torch tensor on the meta device with the shape and dtype get_tensor would give."""
    import torch

    if nbytes is None:
        elements = 1
        for dim in shape:
            elements *= dim
        nbytes = elements * fw.BITS[dtype] // 8
    carrier = fw.torch_dtype(torch, dtype)
    return torch.empty(fw.carrier_shape(dtype, shape, nbytes), dtype=carrier, device="meta")


class TensorSlice:
    """What :meth:`safe_open.get_slice` returns: shape and dtype now, data when indexed.

    Indexes are element indexes of ``get_shape()`` for every dtype, sub-byte ones (F4, F6_*)
    included; see :mod:`stload._subbyte` for the byte-boundary rule those follow.
    """

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

        owner = self._owner
        checkpoint = owner._open()
        if self._dtype in _subbyte.BITS:
            label = f"tensor '{self._name}' in {owner._path}"
            offsets, run, shape = _subbyte.plan(self._dtype, self._shape, index, label)
            nbytes = int(offsets.size) * run
            if owner._meta:
                return _meta_tensor(self._dtype, tuple(shape), nbytes)
            raw = checkpoint.mapped(self._name)
            part = _subbyte.gather(raw, offsets, run).reshape(
                fw.carrier_shape(self._dtype, shape, nbytes)
            )
        else:
            if owner._meta:
                return _meta_tensor(self._dtype, self._shape)[index]
            # The bytes stay in the page cache mapping; only the selected elements are copied out.
            raw = checkpoint.mapped(self._name)
            strides = checkpoint.strides(self._name)
            if strides:
                # A strided PyTorch view: the mapping is the storage span its elements reach,
                # element (0, ..., 0) first; numpy walks it with the view's strides.
                flat = raw.view(np.dtype(fw.numpy_carrier(self._dtype)))
                view = np.lib.stride_tricks.as_strided(
                    flat, shape=self._shape, strides=[s * flat.itemsize for s in strides],
                    writeable=False,
                )
            else:
                view = raw.view(np.dtype(fw.numpy_carrier(self._dtype))).reshape(
                    fw.carrier_shape(self._dtype, self._shape, raw.nbytes)
                )
            part = np.array(view[index], copy=True)
        if owner._framework == "np":
            return part
        import torch

        tensor = torch.from_numpy(part)
        if self._dtype == "BF16":
            tensor = tensor.view(torch.bfloat16)
        elif self._dtype in fw._TORCH_VIEWS:
            tensor = fw.as_torch_dtype(torch, tensor, self._dtype)
        if owner._device != "cpu":
            tensor = tensor.to(owner._device)
        return tensor
