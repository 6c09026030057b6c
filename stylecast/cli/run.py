"""Arguments and handler of ``stylecast run``: live, a source to any outputs, with the
control server and the OBS bridge."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import TYPE_CHECKING

from stylecast.cli.args import (
    add_engine_args,
    add_live_source_args,
    add_vcam_args,
    engine_options,
    live_sinks,
)
from stylecast.config import ObsConfig
from stylecast.engine.build import build_stylizer
from stylecast.errors import ConfigError
from stylecast.outputs.base import Sink
from stylecast.pipeline.stats import status_line
from stylecast.pipeline.threads import Pipeline

if TYPE_CHECKING:
    from collections.abc import Callable

    from stylecast.control.controller import LiveController
    from stylecast.control.obs_bridge import ObsBridge
    from stylecast.control.server import ControlServer
    from stylecast.engine.stylizer import Stylizer
    from stylecast.model.pack import StylePack
    from stylecast.runtime.base import Runtime

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    run = sub.add_parser(
        "run", help="live: camera or stream in, styled virtual camera / stream / file out",
        formatter_class=fmt,
        description="Stylize a live source and send it to any combination of a virtual "
        "camera (Zoom, Meet, Discord, OBS), a recording and a low-latency local stream. "
        "Prints a status line (fps, latency p50/p95, drops) every few seconds. Ctrl-C stops "
        "and leaves recordings playable. Example: stylecast run --input camera --style "
        "starry-night --vcam")
    add_live_source_args(run, size_help="output size; the source is scaled to it",
                         fps_help="capture / output frame rate")
    run.add_argument("--loop", action="store_true", help="restart a video file at its end")
    add_engine_args(run)
    rel = run.add_argument_group("faults (see docs/RELIABILITY.md)")
    rel.add_argument("--no-signal", choices=("auto", "hold", "card"), default="auto",
                     help="what the outputs show while the source is silent (a camera "
                     "unplugged, a stream paused): auto holds the last frame for ~1 s, then "
                     "a 'no signal' card; the source reconnects meanwhile")
    rel.add_argument("--fallback-runtime", default=None, metavar="RUNTIME",
                     help="switch to this runtime (e.g. torch) if the runtime fails while "
                     "running (out of memory ...); default: stop with an error")
    out = run.add_argument_group("outputs (any combination; default --vcam)")
    add_vcam_args(out, device_help="send to a virtual camera (optionally a device such as "
                  "/dev/video10)",
                  backend_help="pyvirtualcam backend: v4l2loopback (Linux), obs or "
                  "unitycapture (Windows/macOS); default: the platform's first that works",
                  format_help="pixel format for the virtual camera (auto negotiates)")
    out.add_argument("--record", default=None, metavar="FILE",
                     help="also record to a video file (mp4/mkv/mov)")
    out.add_argument("--stream", default=None, metavar="URL",
                     help="low-latency local stream: tcp://127.0.0.1:PORT (NUT; OBS media "
                     "source or `ffplay tcp://127.0.0.1:PORT`) or udp://127.0.0.1:PORT "
                     "(MPEG-TS)")
    ctl = run.add_argument_group("live control (websocket + web page)")
    ctl.add_argument("--control-port", type=int, default=8765,
                     help="port of the control websocket and web page (0 = any free port)")
    ctl.add_argument("--control-host", default="127.0.0.1",
                     help="address to bind; anything but loopback requires --control-token")
    ctl.add_argument("--control-token", default=None,
                     help="token clients must present (or set STYLECAST_CONTROL_TOKEN)")
    ctl.add_argument("--no-control", action="store_true", help="do not start the control server")
    obs = run.add_argument_group("OBS (see docs/obs.md)")
    obs.add_argument("--obs", action="store_true",
                     help="show stylecast as a source in OBS and let OBS scenes, custom events "
                     "and hotkeys drive the style (obs-websocket; settings in stylecast.toml "
                     "[obs] or STYLECAST_OBS_HOST/PORT/PASSWORD)")
    obs.add_argument("--obs-scene", default=None, metavar="NAME",
                     help="scene that gets the source (default: [obs] scene, else the "
                     "program scene)")
    obs.add_argument("--obs-mode", choices=("shm", "stream"), default=None,
                     help="shm: the Lua source script (`stylecast doctor` shows its path; "
                     "about one frame of latency); stream: a media source on a local TCP "
                     "stream (~130 ms); "
                     "default: [obs] mode, else shm")
    obs.add_argument("--config", default=None, metavar="PATH",
                     help="settings file (default: ./stylecast.toml when present)")
    run.add_argument("--duration", type=float, default=None,
                     help="stop after this many seconds (default: until Ctrl-C)")
    run.add_argument("--status-every", type=float, default=5.0,
                     help="seconds between status lines; 0 = quiet")
    run.set_defaults(handler=run_live)



def _obs_config(args: argparse.Namespace) -> ObsConfig | None:
    if not args.obs:
        return None
    from dataclasses import replace

    from stylecast.config import check_obs, load_config

    obs = load_config(args.config).obs
    return check_obs(replace(obs, scene=args.obs_scene or obs.scene,
                             mode=args.obs_mode or obs.mode))


def _start_obs(obs: ObsConfig, controller: LiveController, sinks: list[Sink]) -> ObsBridge:
    try:
        from stylecast.control.obs_bridge import ObsBridge, command_handler
    except ImportError as exc:
        raise ConfigError(f"--obs needs obs-websocket-py ({exc}); install it with "
                          "pip install 'stylecast[obs]'") from exc
    from stylecast.outputs.shm import SharedMemorySink
    from stylecast.outputs.stream import StreamSink

    stream_url = obs.stream_url
    for sink in sinks:
        if isinstance(sink, SharedMemorySink):
            sink.on_command = command_handler(controller)
        elif isinstance(sink, StreamSink) and sink.url.startswith("tcp://"):
            stream_url = sink.url  # the real port once open
    bridge = ObsBridge.from_config(controller, obs, stream_url=stream_url)
    bridge.start()
    print(f"stylecast: OBS bridge started ({obs.mode}); OBS shows source "
          f"{obs.source_name!r}", file=sys.stderr)
    return bridge


def run_live(args: argparse.Namespace) -> int:
    from stylecast.cli.signals import interrupt_on_signals

    with interrupt_on_signals():  # SIGTERM stops like Ctrl-C: recordings stay playable
        return _run_live(args)


def _run_live(args: argparse.Namespace) -> int:
    from stylecast.capture.reconnect import open_live_source

    if not args.no_control:  # refuse an unsafe bind before opening anything
        from stylecast.control.access import check_bind

        check_bind(args.control_host, _control_token(args))
    stylizer, _pack = build_stylizer(args.style, engine_options(args))
    process = stylizer.go_live(args.size)
    obs = _obs_config(args)
    source = open_live_source(args.input, size=args.size, fps=args.fps, loop=args.loop)
    sinks = live_sinks(args, obs)
    pipeline = Pipeline(source, stylizer, sinks, live=True, no_signal=args.no_signal,
                        fallback=_fallback_opener(args, _pack, stylizer))
    stylizer.warmup(*process)
    try:
        pipeline.start()
    except BaseException:  # e.g. Ctrl-C mid-start: finish what start() opened
        source.close()
        for sink in sinks:
            sink.close()
        raise
    print(f"stylecast: {source.description} -> {', '.join(pipeline.active_sinks)} "
          f"[{stylizer.runtime.info.name} {stylizer.runtime.info.precision}]", file=sys.stderr)
    server = bridge = controller = None
    try:
        if obs is not None or not args.no_control:
            from stylecast.control.controller import LiveController

            controller = LiveController(pipeline, stylizer, _pack)
            server = None if args.no_control else _start_control(args, controller)
            bridge = None if obs is None else _start_obs(obs, controller, sinks)
    except BaseException:
        if server is not None:
            server.stop()
        if controller is not None:
            controller.close()
        pipeline.stop()
        raise
    deadline = time.monotonic() + args.duration if args.duration else None
    try:
        while not pipeline.wait(timeout=_next_wait(args.status_every, deadline)):
            if deadline is not None and time.monotonic() >= deadline:
                break
            if args.status_every > 0:
                print(status_line(pipeline.stats.snapshot(), stylizer.mixer.dominant()),
                      file=sys.stderr, flush=True)
    finally:
        if bridge is not None:
            bridge.stop()
        if server is not None:
            server.stop()
        if controller is not None:
            controller.close()
        pipeline.stop()
    print("stylecast: " + status_line(pipeline.stats.snapshot(), stylizer.mixer.dominant()),
          file=sys.stderr)
    if pipeline.error is not None:
        raise pipeline.error
    return 0


def _control_token(args: argparse.Namespace) -> str | None:
    import os

    return args.control_token or os.environ.get("STYLECAST_CONTROL_TOKEN") or None


def _fallback_opener(args: argparse.Namespace, pack: StylePack,
                     stylizer: Stylizer) -> Callable[[], Runtime] | None:
    """What opens ``--fallback-runtime`` if the runtime fails mid-run (None: no fallback)."""
    if not args.fallback_runtime:
        return None
    from dataclasses import replace

    from stylecast.engine.build import open_runtime_for

    options = replace(engine_options(args), runtime=args.fallback_runtime)

    def open_fallback() -> Runtime:
        runtime = open_runtime_for(pack, options)
        runtime.warmup(*stylizer.network_size(args.size))
        return runtime

    return open_fallback


def _start_control(args: argparse.Namespace, controller: LiveController) -> ControlServer:
    from stylecast.control.server import ControlServer

    token = _control_token(args)
    server = ControlServer(controller, host=args.control_host,
                           port=args.control_port, token=token)
    server.start()
    print(f"stylecast: control page http://{args.control_host}:{server.port}/ "
          f"(websocket ws://{args.control_host}:{server.port}/ws)", file=sys.stderr)
    return server


def _next_wait(status_every: float, deadline: float | None) -> float:
    wait = status_every if status_every > 0 else 1.0
    if deadline is not None:
        wait = max(0.0, min(wait, deadline - time.monotonic()))
    return wait
