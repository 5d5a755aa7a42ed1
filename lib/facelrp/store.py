"""Writing artifacts so that an interrupted run never leaves a half-written file."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["atomic_write", "replaced_folder", "check_finite", "save_npz", "load_npz", "save_json", "save_csv",
           "save_artifact", "save_table", "process_alive", "DiskFullError"]


class DiskFullError(OSError):
    """No space left where a file is written: one line naming the file and the fix (numpy
    and zipfile report a full disk as "seek of closed file" or a bare ENOSPC)."""

    def __str__(self) -> str:
        return self.strerror


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call ``write(handle)`` on a temporary file beside `path`, then rename it into place.

    On any error or interruption (Ctrl-C; SIGTERM too under ``python -m facelrp``, which
    turns it into an exit) the temporary file is removed and `path` is untouched; one left
    by a process that was killed outright (SIGKILL) is swept by the next write of `path`.
    The file gets the permissions of any new file (``0666`` less the umask), not the
    private ``0600`` of a temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep_stale(path)
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp",
                                         delete=False)
    try:
        with handle:
            write(handle)
        os.chmod(handle.name, 0o666 & ~_umask())
        os.replace(handle.name, path)
    except BaseException as error:
        Path(handle.name).unlink(missing_ok=True)
        if _disk_full(error):
            raise DiskFullError(errno.ENOSPC, f"{path}: no space left on the device while writing it (the old file, if "
                                "any, is untouched); free some space or write elsewhere (FACELRP_RESULTS, --out)") from None
        raise
    return path


@contextlib.contextmanager
def replaced_folder(folder: str | os.PathLike):
    """Write a folder of several files as one: yields a scratch folder beside `folder` to
    write into; when the block ends without error, the scratch folder replaces `folder`
    whole (the old one moved aside, then removed). On an error or an interruption the
    scratch folder is removed and `folder` is as it was, so no mix of old and new files
    survives. Two runs writing one folder each get their own scratch folder; the last to
    finish wins, whole. Scratch folders of killed runs (``.<name>.<pid>.new``) are swept.

    Raises
    ------
    OSError
        `folder` could not be replaced after 100 tries (other runs keep replacing it).
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    for stale in folder.parent.glob(f".{folder.name}.*.new"):
        pid = stale.name[len(folder.name) + 2:].split(".", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    scratch = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.{os.getpid()}.", suffix=".new"))
    try:
        yield scratch
        os.chmod(scratch, 0o777 & ~_umask())
        for _ in range(100):
            aside = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.{os.getpid()}.", suffix=".new"))
            try:
                try:
                    folder.rename(aside / "old")
                except FileNotFoundError:
                    pass
                try:
                    scratch.rename(folder)
                    break
                except OSError:  # another run's folder arrived between the two renames: again
                    continue
            finally:
                shutil.rmtree(aside, ignore_errors=True)
        else:
            raise OSError(f"{folder}: could not replace it (other runs keep writing it); run one at a time")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _disk_full(error: BaseException) -> bool:
    """Whether `error`, or one it was raised from, is a full disk."""
    while error is not None:
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        error = error.__context__ or error.__cause__
    return False


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sweep_stale(path: Path) -> None:
    """Remove temporary files of `path` whose writing process no longer exists (a live
    one may be another run writing the same file: it is left alone)."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        pid = stale.name[len(path.name) + 2:].split(".", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            stale.unlink(missing_ok=True)


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs (another user's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def save_npz(path: str | os.PathLike, **arrays) -> Path:
    """Compressed ``.npz`` of `arrays`, written atomically."""
    return atomic_write(path, lambda handle: np.savez_compressed(handle, **arrays))


def load_npz(path: str | os.PathLike) -> dict:
    """All arrays of an ``.npz`` file, read into memory.

    Raises
    ------
    FileNotFoundError
        `path` does not exist (the message says how to make it).
    ValueError
        `path` is not a readable ``.npz`` (truncated or corrupt); the message names it.
    """
    import zipfile

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found; run the pipeline (`make book`) to make it")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        raise ValueError(f"{path}: not a readable .npz file ({type(error).__name__}: {error}); it is truncated or "
                         "corrupt: delete it and rerun the pipeline (`make book`) to make it again") from None


def check_finite(path: str | os.PathLike, arrays: dict, *, fix: str = "remake it (rerun the pipeline)") -> dict:
    """`arrays` (name -> array), refused when one of their float arrays holds NaN or an
    infinity: one line naming `path`, the array, how many values and the `fix`, so that a
    non-finite result stops at the stage that reads it instead of turning into a plot of
    nothing several stages on."""
    for name, values in arrays.items():
        values = np.asarray(values)
        finite = np.isfinite(values) if values.dtype.kind in "fc" else None
        if finite is not None and not finite.all():
            bad = int(values.size - finite.sum())
            raise ValueError(f"{path}: {name} holds {bad} non-finite value(s) (NaN or infinity) of {values.size}; {fix}")
    return arrays


def save_json(path: str | os.PathLike, record: dict) -> Path:
    """`record` as indented, key-sorted JSON, written atomically."""
    text = json.dumps(record, indent=2, sort_keys=True) + "\n"
    return atomic_write(path, lambda handle: handle.write(text.encode()))


def save_csv(path: str | os.PathLike, frame, *, index: bool = False) -> Path:
    """A pandas DataFrame as UTF-8 CSV, written atomically."""
    return atomic_write(path, lambda handle: handle.write(frame.to_csv(index=index).encode("utf-8")))


def save_artifact(path: str | os.PathLike, arrays: dict, record: dict) -> Path:
    """An ``.npz`` of `arrays` and its ``.json`` `record` beside it, each written atomically;
    the record last, so its presence means the artifact is complete: an old record is
    removed first, so it never vouches for new data whose record could not be written."""
    Path(path).with_suffix(".json").unlink(missing_ok=True)
    path = save_npz(path, **arrays)
    save_json(path.with_suffix(".json"), record)
    return path


def save_table(path: str | os.PathLike, frame, record: dict) -> Path:
    """A ``.csv`` of `frame` and its ``.json`` `record`, as `save_artifact` writes an
    ``.npz``: the old record removed first, the new one written last."""
    Path(path).with_suffix(".json").unlink(missing_ok=True)
    path = save_csv(path, frame)
    save_json(path.with_suffix(".json"), record)
    return path
