"""Arguments and handler of ``stylecast soak``: a long live run that checks for decay.

It sets up what ``stylecast run`` sets up, from the same defaults and the same code: the
output size and rate, the engine options (temporal cache on), the live processing size on a
CPU runtime (``Stylizer.go_live``), the warm-up, and the outputs (``cli.args.live_sinks``):
here a recording (to a temporary file unless ``--record`` names one) and a TCP stream that a
viewer in the soak watches, plus a virtual camera with ``--vcam``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from typing import TYPE_CHECKING

from stylecast.cli import args as shared
from stylecast.cli.signals import stop_on_signals
from stylecast.engine.build import build_stylizer

if TYPE_CHECKING:
    from stylecast.outputs.base import Sink
    from stylecast.tools.soak.harness import SoakOptions, SoakReport


def add_parser(sub: argparse._SubParsersAction) -> None:
    soak = sub.add_parser(
        "soak", help="run live for a long time under a streamer's traffic and check for decay",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Run what `stylecast run` runs (same defaults: 1280x720 at 30 fps, the "
        "CPU live processing size, the temporal cache on; a recording and a TCP stream) for "
        "--minutes, while clients drive the real control server on 127.0.0.1: a deck changes "
        "style, blend and strength every --style-every seconds and asks get_stats at "
        "--stats-hz, the control page loads thumbnails and polls the preview and is reloaded "
        "every --reload-every seconds, a stream viewer leaves and rejoins. Samples RSS, the "
        "Python heap, the C heap (glibc: in use and kept free), threads, open file "
        "descriptors, latency, queues and drops. Passes (exit "
        "0) when nothing crashed or failed, RSS and the heap show no trend after the warm-up "
        "(growth along the fitted line at most --max-rss-growth / --max-heap-growth), p95 "
        "latency rose at most --max-p95-change, and no queue, thread or descriptor count "
        "grew. Example: stylecast soak --minutes 30 --json soak.json --markdown soak.md "
        "--plot soak.png")
    soak.add_argument("--minutes", type=float, default=30.0, help="total run time")
    shared.add_live_source_args(soak, size_help="output size, as `run`",
                                fps_help="source frame rate")
    _add_traffic_args(soak)
    _add_verdict_args(soak)
    _add_output_args(soak)
    shared.add_engine_args(soak)
    soak.set_defaults(handler=run_soak_command)


def _add_traffic_args(soak: argparse.ArgumentParser) -> None:
    g = soak.add_argument_group("traffic")
    g.add_argument("--style-every", type=float, default=2.0, metavar="S",
                   help="seconds between the deck's actions (style, blend, strength in turn)")
    g.add_argument("--stats-hz", type=float, default=4.0)
    g.add_argument("--preview-hz", type=float, default=5.0,
                   help="the control page's preview requests per second")
    g.add_argument("--reload-every", type=float, default=60.0, metavar="S",
                   help="seconds between control-page reloads (thumbnails fetched again)")
    g.add_argument("--no-page", dest="page", action="store_false",
                   help="no control-page client")
    g.add_argument("--rejoin-every", type=float, default=120.0, metavar="S",
                   help="seconds between the stream viewer's leaving and rejoining")


def _add_verdict_args(soak: argparse.ArgumentParser) -> None:
    g = soak.add_argument_group("measurement and verdict")
    g.add_argument("--warmup", type=float, default=60.0, metavar="S",
                   help="seconds before the judged part")
    g.add_argument("--sample-every", type=float, default=5.0, metavar="S")
    g.add_argument("--window", type=int, default=12,
                   help="samples whose median gives the start and end figures")
    g.add_argument("--max-rss-growth", type=float, default=0.05, metavar="FRACTION")
    g.add_argument("--max-heap-growth", type=float, default=0.05, metavar="FRACTION")
    g.add_argument("--max-p95-change", type=float, default=0.10, metavar="FRACTION")
    g.add_argument("--no-heap-trace", dest="trace_heap", action="store_false",
                   help="do not trace the Python heap (tracemalloc)")
    g.add_argument("--json", default=None, metavar="FILE", help="write the report as JSON")
    g.add_argument("--markdown", default=None, metavar="FILE",
                   help="write the report as markdown")
    g.add_argument("--plot", default=None, metavar="FILE.png",
                   help="draw RSS, heap, latency, threads and descriptors over time")


def _add_output_args(soak: argparse.ArgumentParser) -> None:
    g = soak.add_argument_group("outputs, as `run` (default: a recording and a TCP stream)")
    g.add_argument("--record", default=None, metavar="FILE",
                   help="record here (default: a temporary file, deleted afterwards)")
    g.add_argument("--no-record", action="store_true", help="no recording")
    g.add_argument("--stream", default="tcp://127.0.0.1:0", metavar="URL",
                   help="stream here; a tcp:// stream gets a viewer in the soak")
    g.add_argument("--no-stream", action="store_true", help="no stream")
    shared.add_vcam_args(g, device_help="also feed a virtual camera",
                         backend_help="pyvirtualcam backend; 'null' registers one that "
                         "drops the frames (no v4l2loopback needed)")


def run_soak_command(args: argparse.Namespace) -> int:
    from stylecast.tools.soak.harness import SoakOptions, write_reports

    options = SoakOptions(minutes=args.minutes, warmup_s=args.warmup,
                          sample_every_s=args.sample_every, style_every_s=args.style_every,
                          stats_hz=args.stats_hz, page=args.page, preview_hz=args.preview_hz,
                          reload_every_s=args.reload_every, rejoin_every_s=args.rejoin_every,
                          trace_heap=args.trace_heap, window=args.window,
                          max_rss_growth=args.max_rss_growth,
                          max_heap_growth=args.max_heap_growth,
                          max_p95_change=args.max_p95_change)
    with tempfile.TemporaryDirectory(prefix="stylecast-soak-") as scratch:
        report = _soak(args, options, scratch)
    print(report.summary())
    write_reports(report, json_path=args.json, markdown_path=args.markdown,
                  plot_path=args.plot)
    return 0 if report.ok else 1


def _soak(args: argparse.Namespace, options: SoakOptions, scratch: str) -> SoakReport:
    from stylecast.capture.reconnect import open_live_source
    from stylecast.tools.soak.harness import NullSink, register_null_camera, run_soak

    if args.vcam_backend == "null":
        register_null_camera("null")
    stylizer, pack = build_stylizer(args.style, shared.engine_options(args))
    process = stylizer.go_live(args.size)  # as `run`: a CPU runtime runs at live size
    outputs = argparse.Namespace(**vars(args))
    outputs.record = None if args.no_record else args.record or f"{scratch}/soak.mp4"
    outputs.stream = None if args.no_stream else args.stream
    # Nothing asked for: `run` would default to a virtual camera; the soak to no output.
    nothing = outputs.record is None and outputs.stream is None and args.vcam is None
    sinks: list[Sink] = [NullSink()] if nothing else shared.live_sinks(outputs)
    source = open_live_source(args.input, size=args.size, fps=args.fps, loop=True)
    stylizer.warmup(*process)
    info = stylizer.runtime.info
    print(f"stylecast: soaking {args.minutes:g} min: {source.description} -> network at "
          f"{process[0]}x{process[1]} [{info.name} {info.precision}, temporal "
          f"{'on' if stylizer.temporal else 'off'}] -> {', '.join(s.name for s in sinks)}",
          file=sys.stderr)
    stop = threading.Event()
    with stop_on_signals(stop):
        report = run_soak(source, stylizer, pack, options, sinks=sinks, stop=stop)
    report.setup = {
        "size": f"{args.size[0]}x{args.size[1]} at {args.fps:g} fps from {source.description}"
                f", network at {process[0]}x{process[1]}",
        "runtime": f"{info.name} {info.precision} on {info.device}, temporal cache "
                   f"{'on' if stylizer.temporal else 'off'}",
        "outputs": ", ".join(s.name for s in sinks),
        "style": f"{pack.name}: {', '.join(s.name for s in pack.styles)}",
    }
    return report
