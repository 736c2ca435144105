"""Exceptions raised by stload.

Every failure of the C++ library arrives as a :class:`StloadError` carrying ``code``, the name of
the library's ``stload::ErrorCode`` (``"InvalidOffset"``, ``"NotFound"``, ...). Each code maps to a
subclass that also derives from the built-in exception a Python caller would expect, so
``except FileNotFoundError``, ``except KeyError`` or ``except ValueError`` keep working.
"""

from __future__ import annotations


class StloadError(Exception):
    """Base class of every stload error; ``code`` names the ``stload::ErrorCode``."""

    code: str = "Unknown"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]"


class FormatError(StloadError, ValueError):
    """The file is not a valid safetensors file (or a sharded index is inconsistent)."""


class TensorNotFoundError(StloadError, KeyError):
    """A named tensor is not in the checkpoint."""


class InvalidArgumentError(StloadError, ValueError):
    """An argument is wrong: a device string, a device_map, a framework, ``only=``."""


class NotFoundError(StloadError, FileNotFoundError):
    """A path does not exist."""


class StloadIOError(StloadError, OSError):
    """A system call failed, or the file changed while it was being read."""


class OutOfMemoryError(StloadError, MemoryError):
    """Host or device memory could not be had, or the model does not fit."""


class CudaError(StloadError, RuntimeError):
    """A CUDA runtime call failed, or CUDA is not available in this build or machine."""


class CancelledError(StloadError):
    """The load was cancelled."""


_FORMAT_CODES = (
    "HeaderTooSmall",
    "HeaderTooLarge",
    "InvalidHeaderLength",
    "InvalidHeader",
    "InvalidHeaderDeserialization",
    "InvalidOffset",
    "ValidationOverflow",
    "MisalignedSlice",
    "TensorInvalidInfo",
    "MetadataIncompleteBuffer",
    "InvalidIndex",
)

_CLASS_FOR_CODE: dict[str, type[StloadError]] = {
    **{code: FormatError for code in _FORMAT_CODES},
    "TensorNotFound": TensorNotFoundError,
    "InvalidArgument": InvalidArgumentError,
    "NotFound": NotFoundError,
    "Io": StloadIOError,
    "OutOfMemory": OutOfMemoryError,
    "Cuda": CudaError,
    "Cancelled": CancelledError,
}


def _from_code(code: str, message: str) -> StloadError:
    """The exception for a C++ ``stload::Error`` (called by the extension's translator)."""
    cls = _CLASS_FOR_CODE.get(code, StloadError)
    # One positional argument only: OSError reads two as (errno, strerror).
    error = cls(message)
    error.code = code
    return error


# Code written for the reference catches `safetensors.SafetensorError`, the base of everything it
# raises; after `from stload import SafetensorError` the same `except` catches every stload error.
SafetensorError = StloadError
