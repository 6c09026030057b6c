"""The one atomic-write helper: readers see the old file or the whole new one."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: Path, *, keep_suffix: bool = False) -> Iterator[Path]:
    """A fresh temporary file beside ``path`` for the block to write (by name: a library's
    own ``save(...)``), moved over ``path`` with ``os.replace`` when the block ends, and
    removed if it raises. Readers see the old file or the whole new one, never half of it
    (an engine cache another process reads, a pack's manifest, a painted photo when Ctrl-C
    comes mid-write). Missing parent folders are created; OSError (no space, permission
    denied ...) propagates with its errno.

    Args:
        path: the file to replace.
        keep_suffix: end the temporary name with ``path``'s suffix, for writers that pick
            the format from it (PIL's ``Image.save``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_beside(path, path.suffix if keep_suffix else "")
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, chunks: list[bytes]) -> None:
    """Write ``chunks`` to ``path`` atomically (see ``atomic_path``), synced to disk first."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())


def _create_beside(path: Path, suffix: str) -> tuple[int, Path]:
    """A new, exclusive temporary file in ``path``'s folder (so os.replace stays on one file
    system). Not tempfile.mkstemp: its files are 0600, and a user's painted photo should
    get the permissions of any file they create (0666 less their umask)."""
    # O_BINARY exists on Windows only, where without it the C runtime translates newlines.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp{suffix}")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
