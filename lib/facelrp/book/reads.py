"""Record the files a process opens for reading (Python's audit events), so a test can check
that every file a page reads is among the inputs the pipeline declares for it
(`facelrp.pipeline.pages`). Switched on by ``FACELRP_RECORD_READS=<file>`` in the
environment of the page's kernel (`facelrp.__init__`); one path per line."""

from __future__ import annotations

import os
import sys

__all__ = ["record_reads"]

_WRITING = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def record_reads(log: str) -> None:
    """Append to `log` the absolute path of every file this process opens to read from now on."""
    out = open(log, "a", buffering=1)  # opened before the hook: its own writes are not events

    def hook(event, args):
        if event != "open" or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
            return
        path, mode, flags = (list(args) + [None, None])[:3]
        if mode is not None and any(c in str(mode) for c in "wax+"):
            return
        if mode is None and isinstance(flags, int) and flags & _WRITING:
            return
        out.write(os.path.abspath(os.fsdecode(path)) + "\n")

    sys.addaudithook(hook)
