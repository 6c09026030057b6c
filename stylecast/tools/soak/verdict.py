"""The soak's measurements and verdict: what a sample holds and how a run is judged.

Memory is judged by its trend after the warm-up, not by its first and last samples: a
least-squares line through every steady sample, and the growth along that line over the
steady part must stay within the limit. One noisy sample at either end cannot fail a flat
run, and a leak that steps up now and then (a cache taking one more entry every few
minutes) cannot hide between two lucky samples.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class SoakOptions:
    """How long and how hard to soak, and how strict the verdict is.

    Attributes:
        minutes: total run time, warm-up included.
        warmup_s: seconds before the judged part (allocator pools, compiled sizes, caches
            and thumbnails fill).
        sample_every_s: seconds between samples.
        style_every_s: seconds between the control deck's actions (style, blend, strength).
        stats_hz: the deck's get_stats requests per second.
        page: run a control-page client (page loads, thumbnails, previews).
        preview_hz: the page's preview requests per second (the page's own rate is 5).
        reload_every_s: seconds between reloads of the page (a new client each time).
        rejoin_every_s: seconds between a stream viewer's leaving and rejoining.
        trace_heap: trace the Python heap with tracemalloc (numpy's buffers included).
        window: samples whose median gives the start and end figures.
        max_rss_growth: allowed RSS growth along the fitted line (0.05 = 5 %).
        max_heap_growth: the same for the traced Python heap.
        heap_slack_mb: absolute slack on the heap check: frames in flight (2.6 MB each at
            720p) move a heap of a few tens of MB by more than 5 % from sample to sample.
        count_slack: threads or descriptors the end may hold above the start's peak (a
            pool starting another worker on first need, a connection open just then).
        max_p95_change: allowed p95 latency increase, end over start (0.10 = 10 %).
        p95_slack_ms: absolute slack on the p95 check (scheduler noise on tiny networks).
        max_queued: most frames waiting in all queues together at any sample (each queue
            holds 2: capture, and one per output).
    """

    minutes: float = 30.0
    warmup_s: float = 60.0
    sample_every_s: float = 5.0
    style_every_s: float = 2.0
    stats_hz: float = 4.0
    page: bool = True
    preview_hz: float = 5.0
    reload_every_s: float = 60.0
    rejoin_every_s: float = 120.0
    trace_heap: bool = True
    window: int = 6
    max_rss_growth: float = 0.05
    max_heap_growth: float = 0.05
    heap_slack_mb: float = 2.0
    count_slack: int = 2
    max_p95_change: float = 0.10
    p95_slack_ms: float = 0.0
    max_queued: int = 8


@dataclass(frozen=True)
class Sample:
    """One measurement of the running process and pipeline.

    ``heap_mb`` is the traced Python heap (None when not traced), ``py_blocks`` the
    interpreter's allocated blocks (always), ``c_heap_mb`` and ``c_free_mb`` the C heap
    in use and kept free by glibc (None elsewhere; see ``stylecast.pipeline.memory``),
    ``threads`` the process's OS threads (native ones included) and ``fds`` its open file
    descriptors.
    """

    t_s: float
    rss_mb: float
    p95_ms: float | None
    p50_ms: float | None
    fps: float
    queued: int
    drops: int
    frames: int
    heap_mb: float | None = None
    py_blocks: int = 0
    threads: int = 0
    fds: int = 0
    c_heap_mb: float | None = None
    c_free_mb: float | None = None


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
    traffic: dict[str, int] = field(default_factory=dict)  # every client's counters
    setup: dict[str, Any] = field(default_factory=dict)  # what ran: sizes, runtime, outputs
    heap_growth: list[str] = field(default_factory=list)  # top lines, warm-up end -> end
    temporal: dict[str, float] = field(default_factory=dict)  # the cache's counters

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
        t = self.traffic
        head = (f"soak {'PASSED' if self.ok else 'FAILED'}: "
                f"{self.options.minutes:g} min, {len(self.samples)} samples, "
                f"{self.style_changes} style changes, {t.get('blends', 0)} blends, "
                f"{t.get('strength_changes', 0)} strength changes, "
                f"{self.stats_requests} get_stats, {t.get('previews', 0)} previews, "
                f"{t.get('thumbnails', 0)} thumbnails, {len(self.control_failures)} "
                "control failures")
        lines = [head] + [f"  [{'ok' if c.ok else 'FAIL'}] {c.name}: {c.detail}"
                          for c in self.checks]
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        rows = ["| check | verdict | detail |", "|---|---|---|"]
        rows += [f"| {c.name} | {'ok' if c.ok else 'FAIL'} | {c.detail} |" for c in self.checks]
        setup = [f"- {key}: {value}" for key, value in self.setup.items()]
        setup += [f"- traffic: {', '.join(f'{k} {v}' for k, v in self.traffic.items())}"]
        if self.temporal:
            setup.append(f"- temporal cache: {_counts(self.temporal)}")
        heap = [f"    {line}" for line in self.heap_growth] or ["    (not traced)"]
        samples = ["| t (s) | RSS (MB) | heap (MB) | threads | fds | p50 (ms) | p95 (ms) | fps "
                   "| queued | drops |", "|---|---|---|---|---|---|---|---|---|---|"]
        samples += [f"| {s.t_s:.0f} | {s.rss_mb:.1f} | {s.heap_mb} | {s.threads} | {s.fds} | "
                    f"{s.p50_ms} | {s.p95_ms} | {s.fps} | {s.queued} | {s.drops} |"
                    for s in self.samples]
        return "\n".join([f"# Soak: {'passed' if self.ok else 'FAILED'}", "",
                          self.summary().splitlines()[0], "", *rows, "", *setup, "",
                          "Python heap, largest growth from the warm-up's end to the end "
                          "(tracemalloc):", "", *heap, "", "## Samples", "", *samples, ""])


def _counts(values: dict[str, float]) -> str:
    return ", ".join(f"{k} {round(v, 2) if isinstance(v, float) else v}"
                     for k, v in values.items())


def fit_line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares (slope, intercept) of value over time; slope 0 for fewer than 2."""
    if len(points) < 2:
        return 0.0, points[0][1] if points else 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return 0.0, mean_v
    slope = sum((t - mean_t) * (v - mean_v) for t, v in points) / var
    return slope, mean_v - slope * mean_t


def growth_check(name: str, points: list[tuple[float, float]], window: int, limit: float,
                 slack: float = 0.0, unit: str = "MB") -> Check:
    """Whether ``points`` (t s, value) grow along their fitted line by at most ``limit``
    (a fraction of the line's start) plus ``slack``; the first and last windows' medians
    are in the detail for a reader, not in the verdict."""
    slope, intercept = fit_line(points)
    t0, t1 = points[0][0], points[-1][0]
    start = intercept + slope * t0
    grown = slope * (t1 - t0)
    allowed = limit * start + slack
    first = _median(v for _, v in points[:window])
    last = _median(v for _, v in points[-window:])
    slack_text = f" + {slack:g} {unit}" if slack else ""
    return Check(name, grown <= allowed,
                 f"{first:.1f} -> {last:.1f} {unit}; trend {slope * 60:+.2f} {unit}/min, "
                 f"{grown:+.1f} {unit} ({grown / start if start else 0.0:+.1%}) over the "
                 f"{(t1 - t0) / 60:.1f} min after the warm-up (limit {limit:+.0%}"
                 f"{slack_text})")


def count_check(name: str, first: list[int], last: list[int], slack: int) -> Check:
    """No growth in a count (threads, fds): the end's median at most the start's peak plus
    ``slack`` (pools that start a worker on first need, a connection open at the moment)."""
    peak, end = max(first), _median(last)
    return Check(name, end <= peak + slack,
                 f"at most {peak} in the first window, median {end:g} in the last (limit "
                 f"{peak + slack}; overall {min(first + last)}..{max(first + last)})")


def judge(report: SoakReport, *, alive: bool, ended_early: bool = False) -> list[Check]:
    """The invariants, from the samples taken after the warm-up."""
    opts = report.options
    checks = [Check("no crash", alive and report.error is None and not report.control_failures,
                    f"pipeline {'running' if alive else 'stopped'} at the end, error "
                    f"{report.error or 'none'}, {len(report.control_failures)} client "
                    f"failures {report.control_failures[:2]}")]
    steady = [s for s in report.samples if s.t_s >= opts.warmup_s]
    if len(steady) < 2 * opts.window:
        checks.append(Check("enough samples", False, f"{len(steady)} after the warm-up, need "
                            f"{2 * opts.window}: run longer or sample more often"))
        return checks
    first, last = steady[:opts.window], steady[-opts.window:]
    checks.append(growth_check("RSS growth", [(s.t_s, s.rss_mb) for s in steady], opts.window,
                               opts.max_rss_growth))
    heap = [(s.t_s, s.heap_mb) for s in steady if s.heap_mb is not None]
    if len(heap) >= 2 * opts.window:
        checks.append(growth_check("Python heap growth", heap, opts.window,
                                   opts.max_heap_growth, opts.heap_slack_mb))
    p0 = _median(s.p95_ms for s in first if s.p95_ms is not None)
    p1 = _median(s.p95_ms for s in last if s.p95_ms is not None)
    limit = p0 * (1 + opts.max_p95_change) + opts.p95_slack_ms
    checks.append(Check("p95 latency stable", p1 <= limit,
                        f"{p0:.1f} -> {p1:.1f} ms (limit {limit:.1f} ms)"))
    # ``queued`` sums bounded queues (capture, and one per output), so a busy moment fills
    # them without anything growing: what must not grow is their typical fill (up to 2,
    # one queue full or two half, is a busy machine, not a growing queue).
    q0, q1 = _median(s.queued for s in first), _median(s.queued for s in last)
    qmax = max(s.queued for s in steady)
    checks.append(Check("no queue growth", q1 <= max(q0, 2) and qmax <= opts.max_queued,
                        f"median queued start {q0:g}, end {q1:g}; at most {qmax} (limit "
                        f"{opts.max_queued})"))
    if any(s.threads for s in steady):
        checks.append(count_check("no thread growth", [s.threads for s in first],
                                  [s.threads for s in last], opts.count_slack))
        checks.append(count_check("no file descriptor growth", [s.fds for s in first],
                                  [s.fds for s in last], opts.count_slack))
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
