"""Live measurements: throughput, end-to-end latency percentiles, per-stage times, drops."""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np


class RollingStats:
    """Thread-safe rolling window of per-frame measurements.

    ``frames`` and fps count stylized frames handed to the outputs (each once, however
    many sinks there are); latency is capture -> delivered by a sink, in milliseconds,
    over the last ``window`` deliveries; ``delivered`` counts per sink.
    """

    def __init__(self, window: int = 300, fps_window_s: float = 2.0) -> None:
        self._lock = threading.Lock()
        self._window = window
        self._fps_window = fps_window_s
        self._latency: deque[float] = deque(maxlen=window)
        self._stage: dict[str, deque[float]] = {}
        self._produced: deque[float] = deque(maxlen=4096)
        self._per_sink: dict[str, int] = {}
        self.frames = 0
        self.drops: dict[str, int] = {}

    def reset(self) -> None:
        """Forget every measurement so far (a bench measures from after its warm-up)."""
        with self._lock:
            self._latency.clear()
            self._stage = {}
            self._produced.clear()
            self._per_sink = {}
            self.frames = 0
            self.drops = {}

    def produced(self, now: float | None = None) -> None:
        """A stylized frame was handed to the outputs."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self.frames += 1
            self._produced.append(now)

    def delivered(self, t_capture: float, sink: str = "", now: float | None = None) -> None:
        """A sink finished sending a frame captured at ``t_capture``."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._latency.append((now - t_capture) * 1000.0)
            self._per_sink[sink] = self._per_sink.get(sink, 0) + 1

    def stage(self, name: str, seconds: float) -> None:
        with self._lock:
            self._stage.setdefault(name, deque(maxlen=self._window)).append(seconds * 1000.0)

    def set_drops(self, where: str, count: int) -> None:
        with self._lock:
            self.drops[where] = count

    def snapshot(self, now: float | None = None) -> dict:
        """fps, latency p50/p95 (ms), per-stage medians (ms), drops by place and in total."""
        now = time.monotonic() if now is None else now
        with self._lock:
            recent = [t for t in self._produced if now - t <= self._fps_window]
            per_sink = dict(self._per_sink)
            latency = np.array(self._latency) if self._latency else None
            stages = {k: float(np.median(v)) for k, v in self._stage.items() if v}
            drops = dict(self.drops)
            frames = self.frames
        fps = 0.0
        if len(recent) >= 2:
            fps = (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)
        def pct(q: float) -> float | None:
            return None if latency is None else round(float(np.percentile(latency, q)), 1)

        return {
            "fps": round(fps, 2),
            "latency_p50_ms": pct(50),
            "latency_p95_ms": pct(95),
            "stage_ms": {k: round(v, 2) for k, v in stages.items()},
            "drops": sum(drops.values()),
            "drops_by_place": drops,
            "frames": frames,
            "delivered": per_sink,
        }


def status_line(snapshot: dict, style: str) -> str:
    """Compact one-line status for the terminal."""
    p50, p95 = snapshot["latency_p50_ms"], snapshot["latency_p95_ms"]
    latency = f"{p50:.0f}/{p95:.0f} ms" if p50 is not None else "-"
    return (f"{snapshot['fps']:5.1f} fps | latency p50/p95 {latency} | "
            f"drops {snapshot['drops']} | frames {snapshot['frames']} | style {style}")
