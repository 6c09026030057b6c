"""Argument helpers the commands share: sizes, the engine options (whose defaults are
``EngineOptions``'s, written once), the live source and the live outputs."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from stylecast.engine.build import EngineOptions
from stylecast.engine.upsample import MODES as UPSAMPLE_MODES
from stylecast.errors import ConfigError
from stylecast.model.spec import SIZES
from stylecast.outputs.base import Sink
from stylecast.pipeline.frames import parse_size

if TYPE_CHECKING:
    from stylecast.config import ObsConfig

#: The one source of the engine options' defaults (the Python API's too).
DEFAULTS = EngineOptions()
#: What `run` (and the soak, which runs what `run` runs) capture and output by default.
LIVE_SIZE = (1280, 720)
LIVE_FPS = 30.0

INPUT_HELP = (
    "what to stylize: 'test' (built-in demo scene, needs nothing; test:testsrc2 and "
    "test:smpte are FFmpeg's test cards), a video file, "
    "an image sequence like frames/%%05d.png, a webcam ('camera', /dev/video0, "
    "'avfoundation:0' on macOS, 'dshow:video=NAME' on Windows), a stream URL "
    "(udp://, tcp://, rtmp://, rtsp://, http://) or 'screen' (x11grab)"
)


def size_arg(text: str) -> tuple[int, int]:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def unit_float(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is outside 0..1")
    return value


def add_engine_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("style and engine")
    g.add_argument("--style", default=None,
                   help="style name (see `stylecast styles`); default: the first installed")
    g.add_argument("--blend", nargs="+", metavar="NAME=WEIGHT", default=None,
                   help="mix styles of one pack, e.g. --blend starry-night=0.5 great-wave=0.5")
    g.add_argument("--strength", type=unit_float, default=DEFAULTS.strength,
                   help="0 = the camera image, 1 = full stylization")
    g.add_argument("--preserve-colour", type=unit_float, default=DEFAULTS.preserve_colour,
                   help="1 keeps the camera's colours and transfers only texture")
    g.add_argument("--network", choices=("auto", *SIZES), default=DEFAULTS.network,
                   help="network size: lite runs live on a CPU, full wants a GPU")
    g.add_argument("--runtime", default=DEFAULTS.runtime,
                   help="auto, openvino, onnxruntime, torch, torch-cuda or tensorrt; an "
                   "explicit choice never falls back (see `stylecast doctor`)")
    g.add_argument("--precision", default=DEFAULTS.precision, help="auto, f32, bf16 or f16")
    g.add_argument("--threads", type=int, default=DEFAULTS.threads, help="inference threads")
    g.add_argument("--no-cuda-graph", dest="cuda_graph", action="store_false", default=True,
                   help="torch-cuda: run the network eagerly instead of replaying a captured "
                   "CUDA graph per frame size")
    g.add_argument("--compile", action="store_true", default=False,
                   help="torch-cuda: torch.compile the network (slow first frame per size; "
                   "falls back, logged, when compiling fails)")
    g.add_argument("--process-size", type=size_arg, default=DEFAULTS.process_size, metavar="WxH",
                   help="run the network at this size and upsample (edge-aware) to the "
                   "output size, e.g. 640x360 for 720p output on a laptop CPU. Default: the "
                   "size --stroke-scale gives (about 512 px wide for the shipped pack), and "
                   "`run` on a CPU runtime at most ~480x272 (live speed)")
    g.add_argument("--stroke-scale", type=float, default=DEFAULTS.stroke_scale,
                   metavar="S",
                   help="brush size: 1 paints strokes as large, relative to the frame, as "
                   "they are in the painting; 2 twice as large, 0.5 half (finer, and the "
                   "network runs on 4x the pixels). Range 0.25-4; changeable live from the "
                   "control page. --process-size overrides it")
    g.add_argument("--upsample", choices=UPSAMPLE_MODES, default=DEFAULTS.upsample)
    g.add_argument("--temporal", dest="temporal", action="store_true",
                   default=DEFAULTS.temporal,
                   help="steady the video with the temporal cache: motion-compensated "
                   "features and output of earlier frames are reused (flicker, as warping "
                   "error, cut to ~0.25x; fine strokes somewhat softer; a median ~13-22%% more "
                   "time per frame on a 2-core CPU; docs/TEMPORAL.md)")
    # SUPPRESS: --temporal's default stands, and the help does not print "(default: True)"
    # under the flag that turns it off.
    g.add_argument("--no-temporal", dest="temporal", action="store_false",
                   default=argparse.SUPPRESS,
                   help="stylize every frame on its own: the crispest strokes, and the "
                   "flicker of frame-by-frame stylization")
    g.add_argument("--temporal-reuse", type=int, default=DEFAULTS.temporal_reuse,
                   metavar="N",
                   help="up to N frames in a row skip the whole-frame network run and show "
                   "the last output moved with the scene; what the history cannot show (a "
                   "newly uncovered background, an edge coming into view) is stylized "
                   "afresh on crops of the frame. 0 runs the network on every frame "
                   "(~11-19%% more time per frame than --no-temporal, same steadiness)")


def engine_options(args: argparse.Namespace) -> EngineOptions:
    blend: dict[str, float] = {}
    for item in args.blend or ():
        name, sep, weight = item.partition("=")
        try:
            blend[name] = float(weight) if sep else 1.0
        except ValueError as exc:
            raise ConfigError(f"--blend {item!r} is not NAME=WEIGHT") from exc
    # Only the options the user set; otherwise the runtime's own defaults hold.
    runtime_options: dict[str, object] = {}
    if not args.cuda_graph:
        runtime_options["cuda_graph"] = False
    if args.compile:
        runtime_options["compile"] = True
    return EngineOptions(
        network=args.network, runtime=args.runtime, precision=args.precision,
        threads=args.threads, process_size=args.process_size, upsample=args.upsample,
        stroke_scale=args.stroke_scale, strength=args.strength,
        preserve_colour=args.preserve_colour, blend=blend,
        temporal=args.temporal, temporal_reuse=args.temporal_reuse,
        runtime_options=runtime_options)


def size_list(text: str) -> list[tuple[int, int]]:
    """``WxH[,WxH...]`` as a list of sizes, for argparse."""
    try:
        sizes = [parse_size(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    if not sizes:
        raise argparse.ArgumentTypeError("give at least one size, e.g. 1280x720")
    return sizes


def add_live_source_args(p: argparse.ArgumentParser, *, size_help: str, fps_help: str) -> None:
    """--input, --size and --fps of a live run, with `run`'s defaults."""
    p.add_argument("--input", default="test", help=INPUT_HELP)
    p.add_argument("--size", type=size_arg, default=LIVE_SIZE, metavar="WxH", help=size_help)
    p.add_argument("--fps", type=float, default=LIVE_FPS, help=fps_help)


def add_vcam_args(g: argparse._ArgumentGroup, *, device_help: str, backend_help: str,
                  format_help: str | None = None) -> None:
    """--vcam [DEVICE], --vcam-backend and --vcam-format."""
    g.add_argument("--vcam", nargs="?", const="auto", default=None, metavar="DEVICE",
                   help=device_help)
    g.add_argument("--vcam-backend", default=None, help=backend_help)
    g.add_argument("--vcam-format", default="auto", help=format_help)


def live_sinks(args: argparse.Namespace, obs: ObsConfig | None = None) -> list[Sink]:
    sinks: list[Sink] = []
    want_vcam = args.vcam is not None or not (args.record or args.stream or obs)
    if want_vcam:
        from stylecast.outputs.vcam import VirtualCameraSink

        device = None if args.vcam in (None, "auto") else args.vcam
        sinks.append(VirtualCameraSink(device=device, backend=args.vcam_backend,
                                       fmt=args.vcam_format))
    if args.record:
        from stylecast.outputs.record import open_file_output

        sinks.append(open_file_output(args.record))
    if args.stream:
        from stylecast.outputs.stream import StreamSink

        sinks.append(StreamSink(args.stream))
    if obs is not None and obs.mode == "shm":
        from stylecast.outputs.shm import SharedMemorySink

        sinks.append(SharedMemorySink(obs.shm_name))
    elif obs is not None and not args.stream:
        from stylecast.outputs.stream import StreamSink

        sinks.append(StreamSink("tcp://127.0.0.1:0"))  # the OBS media source's feed
    return sinks
