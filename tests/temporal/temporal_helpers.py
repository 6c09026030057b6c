"""Shared helpers for the temporal tests (fixtures live in conftest.py)."""

from __future__ import annotations

import numpy as np

from stylecast.runtime.base import Runtime
from stylecast.temporal.cache import TemporalCache
from stylecast.temporal.config import TemporalConfig

ALPHA = np.array([1.0, 0.0, 0.0], np.float32)
BETA = np.array([0.0, 1.0, 0.0], np.float32)
#: Style tables this far from 1 and 0, so styles differ clearly.
SPREAD = 0.5


def run_both(runtime: Runtime, frames: list[np.ndarray], style: np.ndarray = ALPHA,
             config: TemporalConfig | None = None,
             ) -> tuple[list[np.ndarray], list[np.ndarray], TemporalCache]:
    """Per-frame outputs, cached outputs and the cache that made them."""
    per_frame = [runtime.infer(f, style, 1.0, 0.0) for f in frames]
    cache = TemporalCache(runtime, config)
    cached = [cache.stylize(f, style, 1.0, 0.0).copy() for f in frames]
    return per_frame, cached, cache


class CallCounter:
    """Replaces the bound method ``owner.name`` with one that counts its calls (``calls``)
    and then calls the original; for one test's own runtime or cache object."""

    def __init__(self, owner: object, name: str) -> None:
        self.calls = 0
        original = getattr(owner, name)

        def counting(*args: object, **kwargs: object) -> object:
            self.calls += 1
            return original(*args, **kwargs)

        setattr(owner, name, counting)
