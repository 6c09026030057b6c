"""Control latency: websocket ``set_style`` -> first output frame with the new style.

Real pipeline, shipped pack, OpenVINO, a still 720p test pattern with the network at
480x272, so the output changes only when the style does.
Run: ``python -m stylecast.tools.bench.control_latency``.
"""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np

from stylecast.capture import open_source
from stylecast.control.client import ControlClient
from stylecast.control.controller import LiveController
from stylecast.control.server import ControlServer
from stylecast.engine.build import EngineOptions, build_stylizer
from stylecast.outputs.base import Sink
from stylecast.pipeline.frames import Frame
from stylecast.pipeline.threads import Pipeline

STYLES = ("great-wave", "scream", "starry-night", "udnie") * 3


class Watch(Sink):
    """Keeps the arrival time and a decimated copy of every output frame."""

    name = "watch"

    def __init__(self) -> None:
        self.frames: list[tuple[float, np.ndarray]] = []

    def open(self, *, width: int, height: int, fps: Fraction) -> None:
        pass

    def send(self, frame: Frame) -> None:
        self.frames.append((time.monotonic(), frame.data[::8, ::8].astype(np.int16)))

    def close(self) -> None:
        pass


def _first_change(watch: Watch, since: int, reference: np.ndarray) -> float | None:
    return next((t for t, d in watch.frames[since:] if np.abs(d - reference).mean() > 4), None)


def measure() -> tuple[list[float], dict]:
    """Milliseconds from each set_style message to the first changed output frame."""
    stylizer, pack = build_stylizer(
        "starry-night", EngineOptions(runtime="openvino", process_size=(480, 272)))
    stylizer.runtime.warmup(480, 272)
    watch = Watch()
    source = open_source("test:smpte", size=(1280, 720), fps=30, live=True)
    pipeline = Pipeline(source, stylizer, [watch])
    pipeline.start()
    server = ControlServer(LiveController(pipeline, stylizer, pack), port=0)
    server.start()
    results: list[float] = []
    try:
        time.sleep(2.0)
        with ControlClient(port=server.port) as client:
            for name in STYLES:
                reference, since = watch.frames[-1][1], len(watch.frames)
                sent = time.monotonic()
                client.send({"type": "set_style", "style": name, "transition_ms": 0})
                while (hit := _first_change(watch, since, reference)) is None:
                    time.sleep(0.002)
                results.append((hit - sent) * 1000)
                time.sleep(0.5)
    finally:
        server.stop()
        pipeline.stop()
    return results, pipeline.stats.snapshot()


def main() -> None:
    results, snap = measure()
    print(f"set_style -> changed output pixels: median {np.median(results):.0f} ms, "
          f"min {min(results):.0f}, max {max(results):.0f} (n={len(results)}); "
          f"stylize stage median {snap['stage_ms'].get('stylize')} ms; frame period 33 ms")


if __name__ == "__main__":
    main()
