"""Real-time release of frames by their timestamps (live files and test patterns)."""

from __future__ import annotations

import threading
import time
from fractions import Fraction


class Pacer:
    """Releases frames at their presentation times, anchored to the first one."""

    MAX_LAG_S = 0.25  # behind by more than this (slow consumer): re-anchor, don't burst

    def __init__(self, stop: threading.Event, interval: Fraction) -> None:
        self._stop = stop
        # A frame due later than this is a timestamp jump (a cut, a wrapped clock), not
        # a wait worth sitting through: re-anchor instead.
        self._max_lead = max(1.0, 4 * float(interval))
        self._anchor: tuple[float, float] | None = None

    def wait_until(self, seconds: float) -> bool:
        """Sleep until the frame at ``seconds`` is due; False if stopped meanwhile."""
        now = time.monotonic()
        if self._anchor is None:
            self._anchor = (now, seconds)
            return True
        delay = self._anchor[0] + (seconds - self._anchor[1]) - now
        if delay > self._max_lead or delay < -self.MAX_LAG_S:
            self._anchor = (now, seconds)
            return True
        if delay > 0:
            return not self._stop.wait(delay)
        return True
