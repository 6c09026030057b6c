"""A bounded hand-off between one producer thread and one consumer thread.

Capture readers and stream writers run in their own threads so that a blocking read or
write never stalls the pipeline. This is the queue between them: bounded, with the drop
policy chosen by the caller (live: drop the oldest frame; offline: wait, never drop).
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Generic, TypeVar

T = TypeVar("T")


class Handoff(Generic[T]):
    """Bounded FIFO with an explicit drop policy.

    Args:
        maxsize: most items held before the policy applies (>= 1).
        drop_oldest: True: ``put`` never blocks and discards the oldest item instead
            (latency beats completeness); False: ``put`` waits for room (completeness
            beats latency) until the stop event is set.
    """

    def __init__(self, maxsize: int, *, drop_oldest: bool) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize}")
        self.maxsize = maxsize
        self.drop_oldest = drop_oldest
        self.dropped = 0
        self._items: collections.deque[T] = collections.deque()
        self._final: list[T] = []
        self._cond = threading.Condition()

    def put(self, item: T, stop: threading.Event) -> bool:
        """Add ``item``; returns False (item not added) once ``stop`` is set."""
        with self._cond:
            if self.drop_oldest:
                while len(self._items) >= self.maxsize:
                    self._items.popleft()
                    self.dropped += 1
            else:
                # Poll the stop event too: whoever sets it may not call wake().
                while len(self._items) >= self.maxsize:
                    if stop.is_set():
                        return False
                    self._cond.wait(0.1)
            if stop.is_set():
                return False
            self._items.append(item)
            self._cond.notify_all()
            return True

    def put_final(self, item: T) -> None:
        """Add an end marker or error: never dropped, never blocks, read after the rest."""
        with self._cond:
            self._final.append(item)
            self._cond.notify_all()

    def get(self, timeout: float) -> T | None:
        """The next item, or None if nothing arrived within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._items and not self._final:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            item = self._items.popleft() if self._items else self._final.pop(0)
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

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
