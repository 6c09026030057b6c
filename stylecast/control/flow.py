"""Flow control for control clients: a per-connection rate limit and a bounded outbox.

Both live on the server's event loop thread only, so they need no locks.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable


class TokenBucket:
    """Allow ``rate`` events per second on average and bursts of up to ``burst``.

    A VJ dragging a slider sends a burst of messages, then nothing; a bucket lets the burst
    through at once where a fixed window would cut it in the middle.
    """

    def __init__(self, *, rate: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def allow(self) -> bool:
        """Take one token if there is one; False means the event is over the limit."""
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class Outbox:
    """A bounded queue of pushed messages for one client.

    Drop policy: only the newest stats message matters, so a new one replaces any queued;
    when the queue is full anyway the oldest stats message goes first, then the oldest of
    the rest. A client that stops reading therefore loses messages, while the pipeline and
    the other clients never wait for it.
    """

    def __init__(self, capacity: int = 64) -> None:
        if capacity < 1:
            raise ValueError(f"outbox capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self.dropped = 0
        self._items: deque[tuple[bool, str]] = deque()
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, text: str, *, stats: bool = False) -> None:
        """Queue ``text``; never blocks. ``stats`` marks a replaceable stats message."""
        if stats:
            self._remove_first(stats_only=True, all_of_them=True)
        if len(self._items) >= self.capacity and not self._remove_first(stats_only=True):
            self._remove_first(stats_only=False)
        self._items.append((stats, text))
        self._ready.set()

    async def get(self) -> str:
        """The oldest queued message, waiting until there is one."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()[1]

    def _remove_first(self, *, stats_only: bool, all_of_them: bool = False) -> bool:
        removed = False
        for item in list(self._items):
            if item[0] or not stats_only:
                self._items.remove(item)
                self.dropped += 1
                removed = True
                if not all_of_them:
                    break
        return removed
