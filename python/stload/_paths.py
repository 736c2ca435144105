"""File names as the operating system sees them: bytes.

A POSIX file name is a byte string that need not be UTF-8. Every stload function that takes a
filename accepts ``str`` (including the surrogate-escaped str that ``os.fsdecode`` and
``os.listdir`` give for such names), ``bytes`` and ``os.PathLike``, and hands the C++ side the raw
bytes of ``os.fsencode``, so a name that exists is always found. Anything else raises
:class:`stload.InvalidArgumentError` rather than a binding's ``TypeError``.
"""

from __future__ import annotations

import os
from typing import Any, Union

from ._errors import InvalidArgumentError, NotFoundError, StloadError, StloadIOError

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


def fs_path(filename: Any, what: str = "filename") -> bytes:
    """The raw bytes of `filename`, for the C++ side and for ``open``."""
    if not isinstance(filename, (str, bytes)) and not hasattr(type(filename), "__fspath__"):
        raise InvalidArgumentError(
            f"{what} must be a str, bytes or os.PathLike, not {type(filename).__name__}",
            "InvalidArgument",
        )
    try:
        raw = os.fsencode(filename)
    except TypeError as e:  # a __fspath__ returning something else
        raise InvalidArgumentError(f"{what} {filename!r}: {e}", "InvalidArgument") from None
    if b"\0" in raw:
        # The C++ side would stop at the NUL and open another file than the one named.
        raise InvalidArgumentError(
            f"{what} {display(raw)!r} contains a NUL byte", "InvalidArgument"
        )
    if not raw:
        raise InvalidArgumentError(f"{what} is empty", "InvalidArgument")
    return raw


def display(raw: bytes) -> str:
    """`raw` for a message: printable whatever the terminal's encoding (bad bytes as \\xNN)."""
    return raw.decode("utf-8", "backslashreplace")


def os_error(error: OSError, raw: bytes, doing: str) -> StloadError:
    """An OSError of ours (writing a file) as the module's error, naming the file."""
    cls = NotFoundError if isinstance(error, FileNotFoundError) else StloadIOError
    code = "NotFound" if cls is NotFoundError else "Io"
    reason = error.strerror or str(error)
    return cls(f"cannot {doing} {display(raw)}: {reason}", code)
