"""Arguments and handler of ``stylecast build-engine``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from stylecast.cli.args import size_arg, size_list
from stylecast.model.spec import SIZES

if TYPE_CHECKING:
    from stylecast.model.pack import StylePack

EXAMPLES = """\
examples:
  stylecast build-engine classic
      f16 engine for the classic pack, 1280x720 tuned, anything from 192x108 up to 1920x1080
  stylecast build-engine starry-night --sizes 1920x1080,1280x720,3840x2160
      tuned for 1920x1080 (listed first), up to 4K
  stylecast build-engine classic --sizes 1280x720 --precision f32 --no-temporal
      only the per-frame engine (for stylecast run --no-temporal)

Engines are cached under the user cache folder (see the printed path); `stylecast run
--runtime tensorrt` picks them up. An engine only runs on the GPU model and TensorRT
version it was built with: rebuild after a driver/TensorRT upgrade or on another GPU.
"""


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from exc
    if not 0 < value <= 1024:
        raise argparse.ArgumentTypeError(f"{text!r} must be above 0 and at most 1024")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "build-engine", help="build and cache a TensorRT engine for a pack (NVIDIA GPUs)",
        description="Build the TensorRT engine of a style pack's network for this GPU and\n"
        "TensorRT version, ahead of time, and print where it was written. One engine serves\n"
        "every style of the pack (the style is an input). Needs TensorRT\n"
        "(pip install 'stylecast[tensorrt]') and an NVIDIA GPU.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", metavar="PACK_OR_STYLE",
                   help="a pack name (e.g. classic) or any style of it (see `stylecast styles`)")
    p.add_argument("--network", choices=("auto", *SIZES), default="auto",
                   help="network size; auto takes full when the pack has it (default: auto)")
    p.add_argument("--sizes", type=size_list, default=None, metavar="WxH[,WxH...]",
                   help="frame sizes the network will run at (the processing size); the "
                   "engine accepts everything from the smallest (and thumbnails) to the "
                   "largest and is tuned for the one listed most often, ties going to the "
                   "first (default: 1280x720,640x360,1920x1080)")
    p.add_argument("--opt", type=size_arg, default=None, metavar="WxH",
                   help="the size to tune for, if not the first of --sizes")
    p.add_argument("--precision", choices=("f16", "f32"), default="f16",
                   help="f16 lets TensorRT pick half-precision kernels (tensor cores); "
                   "f32 keeps full precision (default: f16)")
    p.add_argument("--temporal", dest="temporal", action="store_true", default=True,
                   help="also build the temporal-cache engine, which `run` uses by default "
                   "(default)")
    p.add_argument("--no-temporal", dest="temporal", action="store_false",
                   help="only the per-frame engine (for run --no-temporal)")
    p.add_argument("--workspace-gb", type=_positive, default=2.0, metavar="N",
                   help="scratch GPU memory TensorRT's kernels may use, in GiB (default: 2)")
    p.add_argument("--force", action="store_true",
                   help="rebuild even if an engine for this setup is cached")
    p.set_defaults(handler=build_engine)


def _pack_for(target: str) -> StylePack:
    from stylecast.styles import StyleCatalog

    catalog = StyleCatalog.discover()
    for pack in catalog.packs:
        if pack.name == target:
            return pack
    return catalog.pack_of(target)  # StyleNotFound lists the styles and close matches


def build_engine(args: argparse.Namespace) -> int:
    from stylecast.engine.build import choose_network
    from stylecast.runtime.tensorrt.plan import DEFAULT_SIZES, profile_from_sizes
    from stylecast.runtime.tensorrt.runtime import TensorRTRuntime, build_engine_file

    TensorRTRuntime.capabilities()  # no TensorRT or no GPU: one clear line before any work
    pack = _pack_for(args.target)
    size = choose_network(pack, args.network, "tensorrt")
    network = pack.load_network(size)
    profile = profile_from_sizes(args.sizes or list(DEFAULT_SIZES), network.spec.multiple,
                                 opt=args.opt)
    workspace = int(args.workspace_gb * 2**30)
    graphs = (False, True) if args.temporal else (False,)
    for temporal in graphs:
        path, built = build_engine_file(network, precision=args.precision, profile=profile,
                                        temporal=temporal, workspace_bytes=workspace,
                                        force=args.force)
        what = f"{pack.name}/{size} {'temporal' if temporal else 'per-frame'} engine"
        state = "written" if built else "already cached (--force rebuilds it)"
        print(f"{what}, {args.precision}, {profile.describe()}: {state}: {path}")
    return 0
