"""Opening a checkpoint from Python: the one place that turns a filename into a ``_Checkpoint``.

The C++ side never chooses files silently: each choice it makes (a single file beside its index
wins, a complete shard set without an index merges, a merge asked for) is one of the
checkpoint's notes. Python reports them as :class:`StloadNotice` warnings, so a caller sees them
once with the default warning filters and can silence or escalate them with ``warnings``.
"""

from __future__ import annotations

import warnings

from ._paths import fs_path
from ._stload import _Checkpoint


class StloadNotice(UserWarning):
    """A choice stload made about which files of a checkpoint it reads."""


def open_checkpoint(filename, merge: bool = False, stacklevel: int = 3) -> _Checkpoint:
    """Opens `filename` (str, bytes or os.PathLike); `merge` loads a directory of unrelated
    ``*.safetensors`` files as one checkpoint instead of refusing it."""
    checkpoint = _Checkpoint(fs_path(filename), bool(merge))
    for note in checkpoint.notes():
        warnings.warn(note, StloadNotice, stacklevel=stacklevel)
    return checkpoint
