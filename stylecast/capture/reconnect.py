"""A live source that comes back: reopen with exponential backoff whenever it fails or ends.

A streamer's camera gets unplugged and plugged back, an encoder upstream restarts, a
network feed gives up after its own reconnect window: none of these should end the show.
``ReconnectingSource`` wraps a factory of fresh sources (a PyAV source cannot be reopened
once closed) and, after the first successful open, never gives up until ``close()``.
Files and renders are never wrapped: their end is the end, and an error is an error.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from fractions import Fraction

from stylecast.capture.base import Source
from stylecast.capture.factory import open_source, resolve_spec
from stylecast.errors import CaptureError
from stylecast.pipeline.frames import Frame
from stylecast.retry import retry_with_backoff

log = logging.getLogger(__name__)

BACKOFF_START_S = 0.25
BACKOFF_MAX_S = 4.0
# Kinds whose silence is an outage, not an end: devices, screens and network streams.
RECONNECT_KINDS = frozenset({"camera", "v4l2", "avfoundation", "dshow", "screen", "x11grab",
                             "udp", "tcp", "rtmp", "rtsp", "http", "https"})


def open_live_source(spec: str, *, size: tuple[int, int], fps: float | None = None,
                     loop: bool = False) -> Source:
    """``open_source`` for live use, wrapped in a ReconnectingSource where it can come back.

    Test patterns and files (looped or not) are returned unwrapped.
    """
    def make() -> Source:
        return open_source(spec, size=size, fps=fps, loop=loop, live=True)

    kind, _ = resolve_spec(spec)
    if kind in RECONNECT_KINDS:
        return ReconnectingSource(make)
    return make()


class ReconnectingSource(Source):
    """Wraps a live source and reopens it with backoff (0.25 s doubling to 4 s).

    The first ``open()`` fails as the inner source does, so a wrong URL or device is
    reported at once. After that, an error or end of the inner source logs one warning,
    and each failed reopen is retried after a doubling delay; the first frame after a
    successful reopen logs one info line. Frame indices continue across reopens.

    Args:
        factory: returns a new, unopened Source each call; every source it returns must
            yield frames of one size (pass an explicit size to ``open_source``).
        backoff: (first, longest) delay between reopen attempts, seconds.
    """

    live = True

    def __init__(self, factory: Callable[[], Source], *,
                 backoff: tuple[float, float] = (BACKOFF_START_S, BACKOFF_MAX_S)) -> None:
        self._factory = factory
        self._backoff = backoff
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._inner: Source | None = None
        self._size: tuple[int, int] | None = None
        self._fps: Fraction | None = None
        self._index = 0
        self.reconnects = 0
        self.description = "source"

    @property
    def size(self) -> tuple[int, int]:
        if self._size is None:
            raise CaptureError(f"{self.description}: size is unknown until open() succeeds")
        return self._size

    @property
    def fps(self) -> Fraction:
        if self._fps is None:
            raise CaptureError(f"{self.description}: frame rate is unknown until open() "
                               "succeeds")
        return self._fps

    def open(self) -> None:
        """Open the first inner source; raises its CaptureError unchanged."""
        if self._inner is not None:
            return
        inner = self._open_inner()
        self._size, self._fps = inner.size, inner.fps
        self.description = inner.description

    def frames(self) -> Iterator[Frame]:
        """Yield frames from the inner source, reopening it until ``close()``."""
        if self._inner is None:
            self.open()
        while not self._stop.is_set():
            inner = self._inner
            if inner is None:
                inner = self._reopen()
                if inner is None:
                    return
            why = "ended"
            try:
                for frame in inner.frames():
                    # Indices continue across reopens, like the timestamps inside one.
                    yield replace(frame, index=self._index)
                    self._index += 1
            except CaptureError as exc:
                why = str(exc)
            self._drop(inner)
            if not self._stop.is_set():
                log.warning("%s lost (%s); reconnecting", self.description, why)

    def close(self) -> None:
        """Close the inner source and stop reconnecting; idempotent, any thread."""
        self._stop.set()
        with self._lock:
            inner, self._inner = self._inner, None
        if inner is not None:
            inner.close()

    # -- helpers ------------------------------------------------------------------------

    def _open_inner(self) -> Source:
        inner = self._factory()
        with self._lock:
            if self._stop.is_set():
                raise CaptureError(f"{self.description} was closed while opening")
            self._inner = inner  # close() from another thread now reaches it
        try:
            inner.open()
        except BaseException:
            self._drop(inner)
            raise
        return inner

    def _reopen(self) -> Source | None:
        """Open a fresh inner source, waiting between attempts; None once closed."""
        def attempt(number: int) -> Source | None:
            try:
                inner = self._open_inner()
            except CaptureError as exc:
                log.debug("%s: reopen attempt %d failed: %s", self.description, number, exc)
                return None
            self.reconnects += 1
            log.info("%s reconnected after %d attempt(s)", self.description, number)
            return inner

        return retry_with_backoff(attempt, self._stop, self._backoff)

    def _drop(self, inner: Source) -> None:
        with self._lock:
            if self._inner is inner:
                self._inner = None
        inner.close()

