"""SIGTERM handled like Ctrl-C, and a second signal never cuts a shutdown short.

Service managers, ``docker stop`` and OBS-launching scripts stop a process with SIGTERM,
whose default action kills it on the spot and leaves a recording without its index. The
CLI (and only the CLI: a library must not own the process's signals) turns the first
SIGINT or SIGTERM into KeyboardInterrupt, so the same ``finally`` blocks that Ctrl-C runs
close every output; later signals are ignored until that cleanup is done, because a second
Ctrl-C inside the muxer's trailer write is exactly what breaks a file.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType

log = logging.getLogger(__name__)

HANDLED = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def interrupt_on_signals() -> Iterator[None]:
    """Within the block, the first SIGINT/SIGTERM raises KeyboardInterrupt; later ones are
    logged and ignored. Outside the main thread (no signals there) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        if fired.is_set():
            log.warning("%s received while stopping; still closing outputs",
                        signal.Signals(signum).name)
            return
        fired.set()
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in HANDLED}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
