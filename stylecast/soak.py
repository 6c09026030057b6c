"""The soak: hours of a streamer's evening compressed into one run that checks for decay.

A live pipeline runs at the source's rate while a websocket client in this process drives
the real control server on 127.0.0.1 the way a control page and a hotkey deck do: a style
change every few seconds, ``get_stats`` several times a second. Every few seconds a sample
records RSS (``/proc/self/status``), latency p95, queue lengths and drops. At the end the
invariants are judged: the run did not crash, RSS grew at most 5 % after a warm-up, p95
latency at the end is within 10 % of the start, and no queue grew.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import threading
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from itertools import count
from pathlib import Path
from typing import Any

from stylecast.capture.base import Source
from stylecast.frames import Frame
from stylecast.model.pack import StylePack
from stylecast.outputs.base import Sink
from stylecast.pipeline import Pipeline, State
from stylecast.stylizer import Stylizer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SoakOptions:
    """How long and how hard to soak, and how strict the verdict is.

    Attributes:
        minutes: total run time, warm-up included.
        warmup_s: seconds before the baseline (allocator pools, caches and thumbnails fill).
        sample_every_s: seconds between samples.
        style_every_s: seconds between style changes through the control websocket.
        stats_hz: get_stats requests per second.
        window: samples averaged (median) for the start and end figures.
        max_rss_growth: allowed RSS growth, end over start (0.05 = 5 %).
        max_p95_change: allowed p95 latency increase, end over start (0.10 = 10 %).
        p95_slack_ms: absolute slack on the p95 check (scheduler noise on tiny networks).
    """

    minutes: float = 30.0
    warmup_s: float = 60.0
    sample_every_s: float = 5.0
    style_every_s: float = 2.0
    stats_hz: float = 4.0
    window: int = 6
    max_rss_growth: float = 0.05
    max_p95_change: float = 0.10
    p95_slack_ms: float = 0.0


@dataclass(frozen=True)
class Sample:
    """One measurement of the running pipeline."""

    t_s: float
    rss_mb: float
    p95_ms: float | None
    p50_ms: float | None
    fps: float
    queued: int
    drops: int
    frames: int


@dataclass(frozen=True)
class Check:
    """One invariant and its verdict."""

    name: str
    ok: bool
    detail: str


@dataclass
class SoakReport:
    """Everything a soak measured, and the verdict."""

    options: SoakOptions
    samples: list[Sample] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    style_changes: int = 0
    stats_requests: int = 0
    control_failures: list[str] = field(default_factory=list)
    events: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def summary(self) -> str:
        """A few lines for the terminal: verdict, then one line per check."""
        head = (f"soak {'PASSED' if self.ok else 'FAILED'}: "
                f"{self.options.minutes:g} min, {len(self.samples)} samples, "
                f"{self.style_changes} style changes, {self.stats_requests} get_stats, "
                f"{len(self.control_failures)} control failures")
        lines = [head] + [f"  [{'ok' if c.ok else 'FAIL'}] {c.name}: {c.detail}"
                          for c in self.checks]
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        rows = ["| check | verdict | detail |", "|---|---|---|"]
        rows += [f"| {c.name} | {'ok' if c.ok else 'FAIL'} | {c.detail} |" for c in self.checks]
        samples = ["| t (s) | RSS (MB) | p50 (ms) | p95 (ms) | fps | queued | drops |",
                   "|---|---|---|---|---|---|---|"]
        samples += [f"| {s.t_s:.0f} | {s.rss_mb:.1f} | {s.p50_ms} | {s.p95_ms} | {s.fps} | "
                    f"{s.queued} | {s.drops} |" for s in self.samples]
        return "\n".join([f"# Soak: {'passed' if self.ok else 'FAILED'}", "",
                          self.summary().splitlines()[0], "", *rows, "", "## Samples", "",
                          *samples, ""])


class NullSink(Sink):
    """Takes every frame and keeps none: the soak measures stylecast, not an encoder."""

    name = "null"

    def __init__(self) -> None:
        self.frames = 0

    def open(self, *, width: int, height: int, fps: Fraction) -> None:
        self.frames = 0

    def send(self, frame: Frame) -> None:
        self.frames += 1

    def close(self) -> None:
        pass


def rss_mb() -> float:
    """This process's resident set size in MB, from /proc/self/status (Linux)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise OSError("no VmRSS line in /proc/self/status")


def run_soak(source: Source, stylizer: Stylizer, pack: StylePack, options: SoakOptions,
             *, sinks: list[Sink] | None = None, stop: threading.Event | None = None,
             ) -> SoakReport:
    """Run the soak to the end (or until ``stop`` is set) and judge it.

    Args:
        source: an unopened live source (the test pattern, a camera, a stream).
        stylizer: a ready stylizer for ``pack``'s network.
        pack: the pack whose styles the control client cycles through.
        options: durations and tolerances.
        sinks: outputs to feed (default: one NullSink).
        stop: ends the run early when set (Ctrl-C); the verdict covers what ran.
    """
    from stylecast.control.controller import LiveController
    from stylecast.control.server import ControlServer
    from stylecast.soak_client import ControlDriver

    report = SoakReport(options=options)
    stop = stop or threading.Event()
    pipeline = Pipeline(source, stylizer, sinks or [NullSink()], live=True)
    pipeline.add_listener(lambda e: _count_event(report, e))
    pipeline.start()
    server = ControlServer(LiveController(pipeline, stylizer, pack), host="127.0.0.1", port=0)
    driver = ControlDriver([s.name for s in pack.styles], style_every_s=options.style_every_s,
                           stats_hz=options.stats_hz)
    started = time.monotonic()
    load_start = os.getloadavg()[0]
    try:
        server.start()
        driver.start(f"ws://127.0.0.1:{server.port}/ws")
        _sample_until(pipeline, report, options, started, stop)
    finally:
        driver.stop()
        alive = pipeline.state is State.RUNNING
        server.stop()
        pipeline.stop()
    report.style_changes, report.stats_requests = driver.style_changes, driver.stats_requests
    report.control_failures = driver.failures[:20]
    report.error = None if pipeline.error is None else str(pipeline.error)
    report.checks = judge(report, alive=alive, ended_early=stop.is_set())
    # The machine's load colours every latency figure: record it beside them.
    report.note = (f"1-min load average {load_start:.1f} at the start, "
                   f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} CPUs")
    return report


def _count_event(report: SoakReport, event: dict) -> None:
    kind = str(event.get("type"))
    report.events[kind] = report.events.get(kind, 0) + 1


def _sample_until(pipeline: Pipeline, report: SoakReport, options: SoakOptions,
                  started: float, stop: threading.Event) -> None:
    end = started + options.minutes * 60.0
    ticks = count(1)
    while not stop.is_set() and not pipeline.wait(0):
        due = started + next(ticks) * options.sample_every_s
        if due > end or stop.wait(max(0.0, due - time.monotonic())):
            return
        snap = pipeline.stats.snapshot()
        sample = Sample(t_s=round(time.monotonic() - started, 1), rss_mb=round(rss_mb(), 1),
                        p95_ms=snap["latency_p95_ms"], p50_ms=snap["latency_p50_ms"],
                        fps=snap["fps"], queued=sum(pipeline.queue_lengths().values()),
                        drops=snap["drops"], frames=snap["frames"])
        report.samples.append(sample)
        log.info("soak t=%4.0fs rss %.1f MB p95 %s ms fps %.1f queued %d drops %d",
                 sample.t_s, sample.rss_mb, sample.p95_ms, sample.fps, sample.queued,
                 sample.drops)


def judge(report: SoakReport, *, alive: bool, ended_early: bool = False) -> list[Check]:
    """The invariants, from the samples taken after the warm-up."""
    opts = report.options
    checks = [Check("no crash", alive and report.error is None and not report.control_failures,
                    f"pipeline {'running' if alive else 'stopped'} at the end, error "
                    f"{report.error or 'none'}, {len(report.control_failures)} control "
                    f"failures {report.control_failures[:2]}")]
    steady = [s for s in report.samples if s.t_s >= opts.warmup_s]
    if len(steady) < 2 * opts.window:
        checks.append(Check("enough samples", False, f"{len(steady)} after the warm-up, need "
                            f"{2 * opts.window}: run longer or sample more often"))
        return checks
    first, last = steady[:opts.window], steady[-opts.window:]
    rss0, rss1 = _median(s.rss_mb for s in first), _median(s.rss_mb for s in last)
    growth = rss1 / rss0 - 1
    checks.append(Check("RSS growth", growth <= opts.max_rss_growth,
                        f"{rss0:.1f} -> {rss1:.1f} MB ({growth:+.1%}, limit "
                        f"{opts.max_rss_growth:+.0%})"))
    p0 = _median(s.p95_ms for s in first if s.p95_ms is not None)
    p1 = _median(s.p95_ms for s in last if s.p95_ms is not None)
    limit = p0 * (1 + opts.max_p95_change) + opts.p95_slack_ms
    checks.append(Check("p95 latency stable", p1 <= limit,
                        f"{p0:.1f} -> {p1:.1f} ms (limit {limit:.1f} ms)"))
    q0, q1 = max(s.queued for s in first), max(s.queued for s in last)
    qmax = max(s.queued for s in steady)
    checks.append(Check("no queue growth", q1 <= max(q0, 2) and qmax <= 8,
                        f"max queued start {q0}, end {q1}, overall {qmax}"))
    fps = _median(s.fps for s in last)
    checks.append(Check("frames flowing", last[-1].frames > first[0].frames and fps > 0,
                        f"{last[-1].frames - first[0].frames} frames in the steady part, "
                        f"end fps {fps:.1f}"))
    if ended_early:
        checks.append(Check("ran to the end", False, "stopped early (Ctrl-C)"))
    return checks


def _median(values: Any) -> float:
    items = list(values)
    return float(statistics.median(items)) if items else float("nan")


def write_reports(report: SoakReport, *, json_path: str | None, markdown_path: str | None,
                  ) -> None:
    """Write the JSON and/or markdown report where asked."""
    if json_path:
        Path(json_path).write_text(report.to_json() + "\n", encoding="utf-8")
    if markdown_path:
        Path(markdown_path).write_text(report.to_markdown(), encoding="utf-8")
