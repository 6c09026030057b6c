"""A bounded frame queue with an explicit policy for when it is full.

Live sources use ``drop_oldest`` (latency beats completeness: the newest frame is the one
worth showing); files use ``block`` (completeness beats latency: a render never drops).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")

POLICIES = ("drop_oldest", "block")


class Closed(Exception):
    """Raised by ``put`` after ``close()``."""


class FrameQueue(Generic[T]):
    """Bounded FIFO; ``get`` returns None once closed and drained."""

    def __init__(self, maxsize: int, policy: str) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}")
        self.maxsize = maxsize
        self.policy = policy
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0

    def put(self, item: T, timeout: float | None = None) -> bool:
        """Enqueue; returns False if ``block`` timed out. Raises Closed after close()."""
        with self._cond:
            if self._closed:
                raise Closed
            if len(self._items) >= self.maxsize:
                if self.policy == "drop_oldest":
                    self._items.popleft()
                    self.dropped += 1
                elif not self._cond.wait_for(
                    lambda: self._closed or len(self._items) < self.maxsize, timeout
                ):
                    return False
                if self._closed:
                    raise Closed
            self._items.append(item)
            self._cond.notify_all()
            return True

    def get(self, timeout: float | None = None) -> T | None:
        """Next item, or None when closed and empty (or on timeout)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self._closed, timeout):
                return None
            if not self._items:
                return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item

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
