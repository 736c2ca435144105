"""stload: a fast, validating loader of ``.safetensors`` checkpoints.

>>> import stload
>>> tensors = stload.load_file("model.safetensors", device="cuda:0")

Tensors arrive without a copy: they view the memory the loader streamed the file into, which is
freed when the last of them goes. See docs/python.md for the API and the numpy behaviour.

Drop-in for the safetensors package: ``stload.torch`` and ``stload.numpy`` have its functions
(``load_file``, ``load``, ``save_file``, ``save``; ``save_model`` / ``load_model`` for torch),
``stload.safe_open`` its lazy reader, ``stload.SafetensorError`` the base of every error.
``stload.convert`` writes a ``torch.save`` checkpoint (or any other stload reads) as safetensors.
"""

from ._errors import (
    CancelledError,
    CudaError,
    FormatError,
    InvalidArgumentError,
    NotFoundError,
    OutOfMemoryError,
    SafetensorError,
    StloadError,
    StloadIOError,
    TensorNotFoundError,
)
from ._stload import __version__, cuda_compiled_in, cuda_device_count
from ._api import iter_tensors, load_file
from ._convert import convert
from ._open import StloadNotice
from ._safe_open import TensorSlice, safe_open
from ._hub import resolve_repo

__all__ = [
    "__version__",
    "load_file",
    "convert",
    "iter_tensors",
    "safe_open",
    "resolve_repo",
    "TensorSlice",
    "StloadNotice",
    "StloadError",
    "SafetensorError",
    "FormatError",
    "TensorNotFoundError",
    "InvalidArgumentError",
    "NotFoundError",
    "StloadIOError",
    "OutOfMemoryError",
    "CudaError",
    "CancelledError",
    "cuda_compiled_in",
    "cuda_device_count",
]
