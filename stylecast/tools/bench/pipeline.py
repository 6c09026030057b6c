"""End-to-end timing: a paced 30 fps test source through the whole pipeline to an output."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from fractions import Fraction

from stylecast.capture import open_source
from stylecast.engine.build import EngineOptions, build_stylizer
from stylecast.engine.size import processing_size
from stylecast.engine.stylizer import Stylizer
from stylecast.outputs.base import Sink
from stylecast.pipeline.frames import Frame
from stylecast.pipeline.threads import Pipeline


class NullSink(Sink):
    """An output that reads every frame (as a real sink must) and keeps nothing."""

    name = "null"

    def open(self, *, width: int, height: int, fps: Fraction) -> None:
        self.checksum = 0

    def send(self, frame: Frame) -> None:
        self.checksum ^= int(frame.data[::97, ::89].sum())

    def close(self) -> None:
        pass


@dataclass
class PipelineTiming:
    output: str
    process_size: str
    runtime: str
    precision: str
    mode: str
    fps: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    drops: int
    frames: int
    stage_ms: dict

    def as_dict(self) -> dict:
        return asdict(self)


def run_pipeline(output: tuple[int, int], process: tuple[int, int] | None, options: EngineOptions,
                 style: str | None, seconds: float, live: bool = True) -> PipelineTiming:
    """Run the real pipeline for ``seconds`` (after a warm-up) and read its own stats."""
    opts = EngineOptions(**{**options.__dict__, "process_size": process})
    stylizer, _ = build_stylizer(style, opts)
    return measure_pipeline(stylizer, output, process, seconds, live)


def measure_pipeline(stylizer: Stylizer, output: tuple[int, int],
                     process: tuple[int, int] | None, seconds: float,
                     live: bool = True) -> PipelineTiming:
    """As ``run_pipeline``, with a stylizer built by the caller; closes its runtime."""
    stylizer.runtime.warmup(*processing_size(output, process))
    # testsrc2, as every table in docs/dev/BENCHMARKS.md (the demo scene moves differently,
    # which changes what the temporal cache may reuse).
    source = open_source("test:testsrc2", size=output, fps=30, live=live)
    pipeline = Pipeline(source, stylizer, [NullSink()], live=live)
    pipeline.start()
    time.sleep(min(2.0, seconds / 3))  # settle: first frames pay for lazy allocations
    pipeline.stats.reset()  # measure from here on
    time.sleep(seconds)
    snap = pipeline.stats.snapshot()
    frames = snap["frames"]
    pipeline.stop()
    info = stylizer.runtime.info
    stylizer.runtime.close()
    pw, ph = processing_size(output, process)
    return PipelineTiming(
        output=f"{output[0]}x{output[1]}", process_size=f"{pw}x{ph}", runtime=info.name,
        precision=info.precision, mode="live 30 fps" if live else "unpaced",
        fps=round(frames / seconds, 1), latency_p50_ms=snap["latency_p50_ms"],
        latency_p95_ms=snap["latency_p95_ms"], drops=snap["drops"], frames=frames,
        stage_ms=snap["stage_ms"])
