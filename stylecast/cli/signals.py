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
from collections.abc import Callable, Iterator
from types import FrameType

log = logging.getLogger(__name__)

HANDLED = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def on_signals(handler: Callable[[int], None]) -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM call ``handler(signum)`` (which may raise);
    the previous handlers come back when it ends. Outside the main thread (no signals
    there) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        handler(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in HANDLED}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def interrupt_on_signals() -> contextlib.AbstractContextManager[None]:
    """Within the block, the first SIGINT/SIGTERM raises KeyboardInterrupt; later ones are
    logged and ignored."""
    fired = threading.Event()

    def handler(signum: int) -> None:
        if fired.is_set():
            log.warning("%s received while stopping; still closing outputs",
                        signal.Signals(signum).name)
            return
        fired.set()
        raise KeyboardInterrupt

    return on_signals(handler)


def stop_on_signals(stop: threading.Event) -> contextlib.AbstractContextManager[None]:
    """Within the block, SIGINT/SIGTERM set ``stop`` (a run that ends early but still
    reports, like the soak)."""
    return on_signals(lambda _signum: stop.set())
