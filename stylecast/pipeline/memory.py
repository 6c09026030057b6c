"""Hand the memory glibc keeps free back to the operating system, now and then, while a
pipeline runs.

Why (issue #23). Over a show, RSS climbed about 1 MB a minute with a flat Python heap.
glibc's own counters (``mallinfo2``), sampled every 10 s through 10-minute soaks at 720p
with ``run``'s defaults on an AMD EPYC (2 vCPUs), told where: the bytes stylecast holds stayed
flat (432-445 MB), while glibc's arenas grew (499 -> 510 MB) and so did the free space
inside them (90 -> 105 MB). A memray capture agreed: the allocations left alive after
4 and after 12 minutes were the same 840 MB. Nothing leaks; per-frame arrays of many sizes
(frames, crops, features, encoder planes), allocated and freed on several threads, leave
free holes in glibc's per-thread arenas that glibc keeps rather than returning, and a long
show keeps making new ones.

``malloc_trim(0)`` returns every free page of every arena to the system (it is not limited
to the top of the heap since glibc 2.8). Measured in the same soak: 4-21 ms a call, RSS
down by about 25 MB that stays down. Every 30 s that is under 0.1 % of one core. Fewer
arenas (``MALLOC_ARENA_MAX=2``) made no difference; a fixed mmap threshold would return
per-frame arrays at once, but at the price of page faults on every frame.

Other C libraries (musl, macOS, Windows) have no ``malloc_trim``; there this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

log = logging.getLogger(__name__)

RELEASE_EVERY_S = 30.0


def _libc_function(name: str, argtypes: list[Any], restype: Any) -> Any:
    """The C library's function ``name``, typed; None where the library has none."""
    library = ctypes.util.find_library("c")
    if library is None:
        return None
    try:
        function = getattr(ctypes.CDLL(library), name)
    except (OSError, AttributeError):
        return None
    function.argtypes = argtypes
    function.restype = restype
    return function


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none."""
    return _libc_function("malloc_trim", [ctypes.c_size_t], ctypes.c_int)


def release_free_memory() -> bool:
    """Return the C library's free heap pages to the system; True if there was a way to."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


class _MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (glibc 2.33 and later): every field a size_t."""

    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


@dataclass(frozen=True)
class HeapUsage:
    """The C heap as glibc counts it, over all its arenas: what the program holds
    (``in_use_mb``, mmapped blocks included) and what glibc keeps free in its arenas
    (``free_mb``). RSS rising with ``in_use_mb`` flat is the allocator keeping memory, not
    a leak."""

    in_use_mb: float
    free_mb: float


@cache
def _mallinfo2() -> Callable[[], _MallInfo2] | None:
    """glibc's ``mallinfo2`` (2.33 and later), or None where the C library has none."""
    return _libc_function("mallinfo2", [], _MallInfo2)


def heap_usage() -> HeapUsage | None:
    """The C heap's use now (glibc 2.33+), or None where the C library cannot say."""
    info = _mallinfo2()
    if info is None:
        return None
    counts = info()
    return HeapUsage(in_use_mb=(counts.uordblks + counts.hblkhd) / 1e6,
                     free_mb=counts.fordblks / 1e6)


class MemoryReleaser:
    """A daemon thread that calls ``release_free_memory`` when started and then every
    ``every_s`` seconds until ``stop()``; it stops at once, whatever is left of its wait."""

    def __init__(self, every_s: float | None = None) -> None:
        self.every_s = RELEASE_EVERY_S if every_s is None else every_s
        self.releases = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-release", daemon=True)

    def start(self) -> None:
        if _malloc_trim() is None:
            log.debug("no malloc_trim in this C library: free memory stays with the allocator")
            return
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)

    def _run(self) -> None:
        # Once at the start too: opening the runtime and compiling free far more than a
        # show's frames do, and a show should start from what it holds, not from that.
        while True:
            started = time.perf_counter()
            release_free_memory()
            self.releases += 1
            log.debug("released free heap memory in %.1f ms",
                      (time.perf_counter() - started) * 1e3)
            if self._stop.wait(self.every_s):
                return
