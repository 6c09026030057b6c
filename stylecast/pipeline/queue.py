"""The one bounded queue between threads, with an explicit policy for when it is full.

Live sources use ``drop_oldest`` (latency beats completeness: the newest frame is the one
worth showing); files use ``block`` (completeness beats latency: a render never drops).
The pipeline's stages, a capture reader's thread and a stream writer's thread all hand
frames over through it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")

POLICIES = ("drop_oldest", "block")
#: How often a ``put`` waiting for room re-checks its stop event: whoever sets the event
#: may not call ``wake()``.
STOP_POLL_S = 0.1


class Closed(Exception):
    """Raised by ``put`` after ``close()``."""


class BoundedQueue(Generic[T]):
    """Bounded FIFO; ``get`` returns None once closed and drained, or on timeout.

    Args:
        maxsize: most items held before the policy applies (>= 1).
        policy: ``drop_oldest``: ``put`` never blocks and discards the oldest item instead;
            ``block``: ``put`` waits for room.
    """

    def __init__(self, maxsize: int, policy: str) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize}")
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}")
        self.maxsize = maxsize
        self.policy = policy
        self.dropped = 0
        self._items: deque[T] = deque()
        self._final: deque[T] = deque()
        self._cond = threading.Condition()
        self._closed = False

    def put(self, item: T, timeout: float | None = None, *,
            stop: threading.Event | None = None) -> bool:
        """Enqueue ``item``. Returns False (item not added) if ``block`` found no room within
        ``timeout`` seconds, or once ``stop`` is set. Raises Closed after close()."""
        with self._cond:
            if self._closed:
                raise Closed
            if self.policy == "drop_oldest":
                while len(self._items) >= self.maxsize:
                    self._items.popleft()
                    self.dropped += 1
            elif not self._wait_for_room(timeout, stop):
                return False
            if self._closed:
                raise Closed
            if stop is not None and stop.is_set():
                return False
            self._items.append(item)
            self._cond.notify_all()
            return True

    def _wait_for_room(self, timeout: float | None, stop: threading.Event | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while len(self._items) >= self.maxsize and not self._closed:
            if stop is not None and stop.is_set():
                return False
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return False
            if stop is not None:
                wait = STOP_POLL_S if wait is None else min(wait, STOP_POLL_S)
            self._cond.wait(wait)
        return True

    def put_final(self, item: T) -> None:
        """Add an end marker or error: never dropped, never blocks, read after the rest."""
        with self._cond:
            self._final.append(item)
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> T | None:
        """The next item (final ones last), or None when closed and empty or on timeout."""
        with self._cond:
            if not self._cond.wait_for(
                    lambda: self._items or self._final or self._closed, timeout):
                return None
            if self._items:
                item = self._items.popleft()
            elif self._final:
                item = self._final.popleft()
            else:
                return None
            self._cond.notify_all()
            return item

    def clear(self) -> int:
        """Drop every queued (non-final) item; returns how many."""
        with self._cond:
            count = len(self._items)
            self._items.clear()
            self._cond.notify_all()
            return count

    def wake(self) -> None:
        """Wake every waiter so it re-checks its stop event now."""
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        """Wake every waiter; items already queued can still be drained. Idempotent."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
