"""Writing artifacts so that an interrupted run never leaves a half-written file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["atomic_write", "save_npz", "load_npz", "save_json", "save_csv"]


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call ``write(handle)`` on a temporary file beside `path`, then rename it into place.

    On any error (or interruption) the temporary file is removed and `path` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False)
    try:
        with handle:
            write(handle)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return path


def save_npz(path: str | os.PathLike, **arrays) -> Path:
    """Compressed ``.npz`` of `arrays`, written atomically."""
    return atomic_write(path, lambda handle: np.savez_compressed(handle, **arrays))


def load_npz(path: str | os.PathLike) -> dict:
    """All arrays of an ``.npz`` file, read into memory."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found; run the pipeline (`make book`) to make it")
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def save_json(path: str | os.PathLike, record: dict) -> Path:
    """`record` as indented, key-sorted JSON, written atomically."""
    text = json.dumps(record, indent=2, sort_keys=True) + "\n"
    return atomic_write(path, lambda handle: handle.write(text.encode()))


def save_csv(path: str | os.PathLike, frame, *, index: bool = False) -> Path:
    """A pandas DataFrame as UTF-8 CSV, written atomically."""
    return atomic_write(path, lambda handle: handle.write(frame.to_csv(index=index).encode("utf-8")))
