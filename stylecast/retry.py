"""The one backoff loop: retry an attempt, waiting longer after each failure, until a stop.

A camera that comes back (``capture.reconnect``) and an OBS that restarts
(``control.obs_bridge``) both reconnect this way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def retry_with_backoff(attempt: Callable[[int], T | None], stop: threading.Event,
                       delays: tuple[float, float]) -> T | None:
    """Call ``attempt(1)``, ``attempt(2)`` ... until one returns something other than None,
    and return that; None once ``stop`` is set.

    Args:
        attempt: one try, given its number (from 1); None means it failed.
        stop: ends the waiting at once when set.
        delays: (first, longest) wait after a failed try, seconds; it doubles each time.
    """
    delay, longest = delays
    number = 0
    while not stop.is_set():
        number += 1
        result = attempt(number)
        if result is not None:
            return result
        if stop.wait(delay):
            return None
        delay = min(delay * 2, longest)
    return None
