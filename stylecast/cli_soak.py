"""Arguments and handler of ``stylecast soak``: a long live run that checks for decay."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

from stylecast.app import build_stylizer
from stylecast.cli_run import INPUT_HELP, _process_dims, add_engine_args, engine_options, size_arg


def add_parser(sub: argparse._SubParsersAction) -> None:
    soak = sub.add_parser(
        "soak", help="run live for a long time under control traffic and check for decay",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Run the live pipeline for --minutes with a style change every "
        "--style-every seconds and get_stats at --stats-hz through the real control "
        "websocket on 127.0.0.1, sampling RSS, latency p95, queue lengths and drops. Passes "
        "(exit 0) when nothing crashed, RSS grew at most 5 %% and p95 latency at most 10 %% "
        "after the warm-up, and no queue grew. Example: stylecast soak --minutes 5 --json "
        "soak.json")
    soak.add_argument("--minutes", type=float, default=30.0, help="total run time")
    soak.add_argument("--input", default="test", help=INPUT_HELP)
    soak.add_argument("--size", type=size_arg, default=(320, 180), metavar="WxH")
    soak.add_argument("--fps", type=float, default=30.0, help="source frame rate")
    soak.add_argument("--warmup", type=float, default=60.0, metavar="S",
                      help="seconds before the baseline sample")
    soak.add_argument("--sample-every", type=float, default=5.0, metavar="S")
    soak.add_argument("--style-every", type=float, default=2.0, metavar="S")
    soak.add_argument("--stats-hz", type=float, default=4.0)
    soak.add_argument("--window", type=int, default=6,
                      help="samples whose median gives the start and end figures")
    soak.add_argument("--max-rss-growth", type=float, default=0.05, metavar="FRACTION")
    soak.add_argument("--max-p95-change", type=float, default=0.10, metavar="FRACTION")
    soak.add_argument("--json", default=None, metavar="FILE", help="write the report as JSON")
    soak.add_argument("--markdown", default=None, metavar="FILE",
                      help="write the report as markdown")
    add_engine_args(soak)
    soak.set_defaults(handler=run_soak_command)


def run_soak_command(args: argparse.Namespace) -> int:
    from stylecast.capture.reconnect import open_live_source
    from stylecast.soak import SoakOptions, run_soak, write_reports

    options = SoakOptions(minutes=args.minutes, warmup_s=args.warmup,
                          sample_every_s=args.sample_every, style_every_s=args.style_every,
                          stats_hz=args.stats_hz, window=args.window,
                          max_rss_growth=args.max_rss_growth,
                          max_p95_change=args.max_p95_change)
    stylizer, pack = build_stylizer(args.style, engine_options(args))
    source = open_live_source(args.input, size=args.size, fps=args.fps, loop=True)
    stylizer.runtime.warmup(*_process_dims(stylizer, args.size))
    print(f"stylecast: soaking {args.minutes:g} min: {source.description} "
          f"[{stylizer.runtime.info.name} {stylizer.runtime.info.precision}]", file=sys.stderr)
    stop = threading.Event()
    with _stop_on_signals(stop):
        report = run_soak(source, stylizer, pack, options, stop=stop)
    print(report.summary())
    write_reports(report, json_path=args.json, markdown_path=args.markdown)
    return 0 if report.ok else 1


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM end the soak early but still judge and report what ran."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
