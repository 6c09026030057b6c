"""The style vector over time: set, blend and crossfade, safe to change from any thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from stylecast.errors import ConfigError


def smoothstep(x: float) -> float:
    """Ease in and out, so a crossfade starts and lands without a visible kink."""
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


class StyleMixer:
    """Holds the current style vector and crossfades between targets.

    ``vector()`` is called once per frame by the stylize thread; setters come from the
    control server, OBS bridge or CLI threads. A lock guards the few fields; nothing slow
    happens under it.
    """

    def __init__(
        self, names: list[str], initial: dict[str, float],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.names = list(names)
        self._clock = clock
        self._lock = threading.Lock()
        start = self._to_vector(initial)
        self._from = start
        self._to = start
        self._t0 = 0.0
        self._duration = 0.0

    def _to_vector(self, weights: dict[str, float]) -> np.ndarray:
        vector = np.zeros(len(self.names), dtype=np.float32)
        for name, weight in weights.items():
            if name not in self.names:
                raise ConfigError(f"style {name!r} is not in the loaded network "
                                  f"({', '.join(self.names)})")
            if not np.isfinite(weight) or weight < 0:
                raise ConfigError(f"blend weight for {name!r} must be a finite number >= 0")
            vector[self.names.index(name)] = weight
        total = float(vector.sum())
        if total <= 0:
            raise ConfigError("a blend needs at least one style with a positive weight")
        return vector / total

    def set(self, weights: dict[str, float], transition_ms: float = 0.0) -> None:
        """Crossfade from wherever the mix is now to ``weights`` over ``transition_ms``."""
        target = self._to_vector(weights)
        with self._lock:
            now = self._clock()
            self._from = self._vector_at(now)
            self._to = target
            self._t0 = now
            self._duration = max(0.0, transition_ms) / 1000.0

    def _vector_at(self, now: float) -> np.ndarray:
        if self._duration <= 0:
            return self._to
        k = smoothstep((now - self._t0) / self._duration)
        return (1 - k) * self._from + k * self._to

    def vector(self) -> np.ndarray:
        """(S,) float32 weights summing to 1, for the frame being processed now."""
        with self._lock:
            return self._vector_at(self._clock()).astype(np.float32, copy=False)

    def weights(self) -> dict[str, float]:
        """The target mix as {name: weight} for names with a non-zero weight."""
        with self._lock:
            target = self._to
        return {n: round(float(w), 4) for n, w in zip(self.names, target, strict=True) if w > 0}

    def dominant(self) -> str:
        with self._lock:
            return self.names[int(np.argmax(self._to))]
