"""The one atomic-write helper: readers see the old file or the whole new one."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_atomically(path: Path, chunks: list[bytes]) -> None:
    """Write ``chunks`` to ``path`` through a temporary file and ``os.replace``: readers see
    the old file or the whole new one, never half of it (an engine cache another process
    reads, a painted photo when Ctrl-C comes mid-write). Missing parent folders are
    created; OSError (no space, permission denied ...) propagates with its errno."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_beside(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _create_beside(path: Path) -> tuple[int, Path]:
    """A new, exclusive temporary file in ``path``'s folder (so os.replace stays on one file
    system). Not tempfile.mkstemp: its files are 0600, and a user's painted photo should
    get the permissions of any file they create (0666 less their umask)."""
    # O_BINARY exists on Windows only, where without it the C runtime translates newlines.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
