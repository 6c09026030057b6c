"""The soak: hours of a streamer's evening compressed into one run that checks for decay.

A live pipeline runs at the source's rate, feeding the outputs it is given (``stylecast
soak`` gives it what ``stylecast run`` would: a recording, a TCP stream, optionally a
virtual camera), while clients in this process drive the real control server on 127.0.0.1
as a streamer's tools do (``stylecast.tools.soak.traffic``): a hotkey deck changing style, blend
and strength every few seconds and asking for stats several times a second, the control
page loading thumbnails and polling the preview and being reloaded now and then, and a
stream viewer that leaves and rejoins.

Every few seconds a sample records RSS, the Python heap (tracemalloc, numpy's buffers
included), the C heap (glibc's in use and kept free), OS threads and open file descriptors
of this process, latency p50/p95, queue
lengths and drops. At the end the invariants are judged (``stylecast.tools.soak.verdict``): no
crash or failed request, no memory trend after the warm-up, p95 latency steady, no queue,
thread or descriptor growth.
"""

from __future__ import annotations

import linecache
import logging
import os
import sys
import threading
import time
import tracemalloc
from fractions import Fraction
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING

from stylecast.capture.base import Source
from stylecast.engine.stylizer import Stylizer
from stylecast.model.pack import StylePack
from stylecast.outputs.base import Sink
from stylecast.pipeline.frames import Frame
from stylecast.pipeline.memory import heap_usage
from stylecast.pipeline.threads import Pipeline, State
from stylecast.tools.soak.verdict import Check, Sample, SoakOptions, SoakReport, judge

if TYPE_CHECKING:
    from stylecast.tools.soak.traffic import SoakClient

__all__ = ["Check", "NullCamera", "NullSink", "Sample", "SoakOptions", "SoakReport", "judge",
           "register_null_camera", "rss_mb", "run_soak", "write_reports"]

log = logging.getLogger(__name__)


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


class NullCamera:
    """A pyvirtualcam backend that takes frames and drops them: ``--vcam --vcam-backend
    null`` runs the virtual-camera path (pyvirtualcam's checks and pacing, the sink's
    conversion) where no v4l2loopback device exists. Registered by ``register_null_camera``.
    """

    frames = 0

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int,
                 device: str | None, **kwargs: object) -> None:
        self._device = device or "null"

    def send(self, frame: object) -> None:
        type(self).frames += 1

    def close(self) -> None:
        pass

    def device(self) -> str:
        return self._device


def register_null_camera(name: str = "null") -> None:
    """Register :class:`NullCamera` with pyvirtualcam under ``name``."""
    import pyvirtualcam

    pyvirtualcam.register_backend(name, NullCamera)


def _status_field(name: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    raise OSError(f"no {name} line in /proc/self/status")


def rss_mb() -> float:
    """This process's resident set size in MB, from /proc/self/status (Linux)."""
    return _status_field("VmRSS") / 1024.0


def os_threads() -> int:
    """This process's threads, native ones (OpenVINO's, FFmpeg's) included (Linux)."""
    return _status_field("Threads")


def open_fds() -> int:
    """This process's open file descriptors (Linux)."""
    return len(os.listdir("/proc/self/fd"))


class HeapTracer:
    """tracemalloc for the soak: the traced size per sample, and the lines that grew most
    between two snapshots. Starts tracing only if nobody else has, and stops only then.

    Each allocation keeps ``DEPTH`` frames, so growth is put on the innermost line outside
    libraries (the caller that keeps numpy arrays, not numpy's own ``empty``).
    """

    DEPTH = 8

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._owner = enabled and not tracemalloc.is_tracing()
        if self._owner:
            tracemalloc.start(self.DEPTH)
        self._baseline: tracemalloc.Snapshot | None = None

    def traced_mb(self) -> float | None:
        return tracemalloc.get_traced_memory()[0] / 2**20 if self.enabled else None

    def mark(self) -> None:
        """The baseline for ``growth``: the warm-up's end."""
        if self.enabled:
            self._baseline = self._snapshot()

    def growth(self, top: int = 8) -> list[str]:
        """The ``top`` source lines whose traced memory grew most since ``mark``."""
        if self._baseline is None:
            return []
        by_line: dict[tuple[str, int], list[int]] = {}
        for stat in self._snapshot().compare_to(self._baseline, "traceback"):
            frame = _own_frame(stat.traceback)
            sums = by_line.setdefault((frame.filename, frame.lineno), [0, 0])
            sums[0] += stat.size_diff
            sums[1] += stat.count_diff
        lines = []
        for (filename, lineno), (size, blocks) in sorted(by_line.items(),
                                                         key=lambda kv: -kv[1][0])[:top]:
            code = linecache.getline(filename, lineno).strip()
            lines.append(f"{size / 2**20:+.2f} MB ({blocks:+d} blocks) "
                         f"{_short(filename)}:{lineno} {code[:60]}")
        return lines

    @staticmethod
    def _snapshot() -> tracemalloc.Snapshot:
        return tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)])

    def stop(self) -> None:
        if self._owner:
            tracemalloc.stop()
            self._owner = False


def _own_frame(traceback: tracemalloc.Traceback) -> tracemalloc.Frame:
    """The most recent frame outside the standard library and installed packages."""
    library = (os.path.dirname(os.__file__), "site-packages", "<frozen")
    for frame in reversed(list(traceback)):
        if not any(part in frame.filename for part in library):
            return frame
    return traceback[-1]


def _short(filename: str) -> str:
    parts = Path(filename).parts
    for anchor in ("stylecast", "site-packages"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) + (anchor == "site-packages"):])
    return "/".join(parts[-2:])


def run_soak(source: Source, stylizer: Stylizer, pack: StylePack, options: SoakOptions,
             *, sinks: list[Sink] | None = None, stop: threading.Event | None = None,
             ) -> SoakReport:
    """Run the soak to the end (or until ``stop`` is set) and judge it.

    Args:
        source: an unopened live source (the test pattern, a camera, a stream).
        stylizer: a ready (warmed-up) stylizer for ``pack``'s network.
        pack: the pack whose styles the control clients cycle through.
        options: durations, traffic and tolerances.
        sinks: outputs to feed (default: one NullSink); a TCP ``StreamSink`` among them
            gets a viewer.
        stop: ends the run early when set (Ctrl-C); the verdict covers what ran.
    """
    from stylecast.control.controller import LiveController
    from stylecast.control.server import ControlServer

    report = SoakReport(options=options)
    stop = stop or threading.Event()
    tracer = HeapTracer(options.trace_heap)
    pipeline = Pipeline(source, stylizer, sinks or [NullSink()], live=True)
    pipeline.add_listener(lambda e: _count_event(report, e))
    pipeline.start()
    server: ControlServer | None = None
    clients: list[tuple[SoakClient, str]] = []
    started = time.monotonic()
    load_start = os.getloadavg()[0]
    try:
        server = ControlServer(LiveController(pipeline, stylizer, pack), host="127.0.0.1",
                               port=0)
        server.start()
        clients = _clients([s.name for s in pack.styles], options, pipeline.sinks)
        for client, url in clients:
            client.start(url.format(port=server.port))
        _sample_until(pipeline, report, options, started, stop, tracer)
        report.heap_growth = tracer.growth()
    finally:
        for client, _ in clients:
            client.stop()
        alive = pipeline.state is State.RUNNING
        if server is not None:
            server.stop()
        pipeline.stop()
        tracer.stop()
    _tally(report, [client for client, _ in clients])
    report.temporal = stylizer.temporal_stats() or {}
    report.error = None if pipeline.error is None else str(pipeline.error)
    report.checks = judge(report, alive=alive, ended_early=stop.is_set())
    # The machine's load colours every latency figure: record it beside them.
    report.note = (f"1-min load average {load_start:.1f} at the start, "
                   f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} CPUs")
    return report


def _clients(styles: list[str], options: SoakOptions,
             sinks: list[Sink]) -> list[tuple[SoakClient, str]]:
    """(client, url template) for each client the options and sinks call for."""
    from stylecast.outputs.stream import StreamSink
    from stylecast.tools.soak.traffic import ControlDriver, PageClient, StreamViewer

    clients: list[tuple[SoakClient, str]] = [
        (ControlDriver(styles, style_every_s=options.style_every_s, stats_hz=options.stats_hz),
         "ws://127.0.0.1:{port}/ws")]
    if options.page:
        clients.append((PageClient(styles, preview_hz=options.preview_hz,
                                   reload_every_s=options.reload_every_s),
                        "ws://127.0.0.1:{port}/ws"))
    for sink in sinks:
        if isinstance(sink, StreamSink) and sink.url.startswith("tcp://"):
            clients.append((StreamViewer(rejoin_every_s=options.rejoin_every_s), sink.url))
    return clients


def _tally(report: SoakReport, clients: list[SoakClient]) -> None:
    """Every client's counters into the report; their failures into control_failures."""
    counters = ("style_changes", "blends", "strength_changes", "stats_requests",
                "page_loads", "thumbnails", "previews", "pushed", "joins", "bytes_read")
    for client in clients:
        for name in counters:
            if hasattr(client, name):
                report.traffic[name] = getattr(client, name)
        report.control_failures += client.failures
        if client.failure_count > len(client.failures):
            report.control_failures.append(f"{client.name}: ... "
                                           f"{client.failure_count} failures in all")
    report.style_changes = report.traffic.get("style_changes", 0)
    report.stats_requests = report.traffic.get("stats_requests", 0)


def _count_event(report: SoakReport, event: dict) -> None:
    kind = str(event.get("type"))
    report.events[kind] = report.events.get(kind, 0) + 1


def _sample_until(pipeline: Pipeline, report: SoakReport, options: SoakOptions,
                  started: float, stop: threading.Event, tracer: HeapTracer) -> None:
    end = started + options.minutes * 60.0
    ticks = count(1)
    marked = False
    while not stop.is_set() and not pipeline.wait(0):
        due = started + next(ticks) * options.sample_every_s
        if due > end or stop.wait(max(0.0, due - time.monotonic())):
            return
        snap = pipeline.stats.snapshot()
        heap = tracer.traced_mb()
        c_heap = heap_usage()
        sample = Sample(t_s=round(time.monotonic() - started, 1), rss_mb=round(rss_mb(), 1),
                        p95_ms=snap["latency_p95_ms"], p50_ms=snap["latency_p50_ms"],
                        fps=snap["fps"], queued=sum(pipeline.queue_lengths().values()),
                        drops=snap["drops"], frames=snap["frames"],
                        heap_mb=None if heap is None else round(heap, 2),
                        py_blocks=sys.getallocatedblocks(), threads=os_threads(),
                        fds=open_fds(),
                        c_heap_mb=None if c_heap is None else round(c_heap.in_use_mb, 1),
                        c_free_mb=None if c_heap is None else round(c_heap.free_mb, 1))
        report.samples.append(sample)
        if not marked and sample.t_s >= options.warmup_s:
            tracer.mark()
            marked = True
        log.info("soak t=%4.0fs rss %.1f MB heap %s MB C heap %s MB (free %s) threads %d "
                 "fds %d p95 %s ms fps %.1f queued %d drops %d", sample.t_s, sample.rss_mb,
                 sample.heap_mb, sample.c_heap_mb, sample.c_free_mb,
                 sample.threads, sample.fds, sample.p95_ms, sample.fps, sample.queued,
                 sample.drops)


def write_reports(report: SoakReport, *, json_path: str | None, markdown_path: str | None,
                  plot_path: str | None = None) -> None:
    """Write the JSON, markdown and/or PNG plot where asked."""
    if json_path:
        Path(json_path).write_text(report.to_json() + "\n", encoding="utf-8")
    if markdown_path:
        Path(markdown_path).write_text(report.to_markdown(), encoding="utf-8")
    if plot_path:
        from stylecast.tools.soak.plot import write_plot

        write_plot(report, plot_path)
