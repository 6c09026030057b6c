"""Arguments and handler of ``stylecast render`` (offline): a video or sequence through the
pipeline, or still pictures one by one (stills.py)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from stylecast.cli.args import add_engine_args, engine_options, size_arg
from stylecast.engine.build import build_stylizer
from stylecast.errors import ConfigError


def add_parser(sub: argparse._SubParsersAction) -> None:
    render = sub.add_parser(
        "render", help="offline: paint a video, an image sequence, a picture or a folder "
        "of pictures, never dropping",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Stylize every frame of INPUT into OUTPUT with the same pipeline as "
        "`run`, keeping frame count and timestamps. INPUT and OUTPUT may be video files or "
        "image-sequence patterns such as frames/%%05d.png. A picture (png, jpg, webp, bmp, "
        "tiff) paints to a picture, and a folder of pictures to a folder, keeping the file "
        "names. Examples: stylecast render clip.mp4 -o painted.mp4 --style great-wave; "
        "stylecast render photo.jpg -o painted.png; stylecast render photos/ -o painted/")
    render.add_argument("input", help="video file, image-sequence pattern, picture, folder "
                        "of pictures, or 'test'")
    render.add_argument("-o", "--output", required=True,
                        help="video file, pattern, picture, or folder (for a folder input)")
    render.add_argument("--size", type=size_arg, default=None, metavar="WxH",
                        help="output size (default: the input's size)")
    render.add_argument("--fps", type=float, default=None,
                        help="frame rate of an image-sequence input (default 30)")
    render.add_argument("--frames", type=int, default=None,
                        help="render only the first N frames (INPUT 'test' defaults to 300)")
    add_engine_args(render)
    render.set_defaults(handler=run_render)


def run_render(args: argparse.Namespace) -> int:
    from stylecast.cli.signals import interrupt_on_signals

    with interrupt_on_signals():  # SIGTERM stops like Ctrl-C: the output stays playable
        return _render(args)


def _render(args: argparse.Namespace) -> int:
    from stylecast.engine.stills import stills_source

    source = stills_source(args.input)
    if source is not None:
        return _render_stills(args, source)
    return _render_video(args)


def _render_stills(args: argparse.Namespace, source: Path) -> int:
    from tqdm import tqdm

    from stylecast.engine.stills import paint_stills, plan_stills, prepare_targets

    jobs = plan_stills(source, args.output)  # refuse a bad -o before loading a network
    prepare_targets(jobs)
    # Unrelated photos: the temporal cache would carry one photo's strokes into the next.
    stylizer, _pack = build_stylizer(args.style, replace(engine_options(args), temporal=False))
    with tqdm(total=len(jobs), unit="picture", desc="render", dynamic_ncols=True,
              disable=len(jobs) == 1) as bar:
        skipped = paint_stills(stylizer, jobs, size=args.size,
                               on_done=lambda _job: bar.update(1))
    painted = len(jobs) - len(skipped)
    where = jobs[0].target if len(jobs) == 1 else args.output
    print(f"stylecast: wrote {painted} picture{'s' if painted != 1 else ''} to {where}",
          file=sys.stderr)
    if skipped:
        raise ConfigError(f"{len(skipped)} of {len(jobs)} pictures could not be painted; "
                          "the lines above say why")
    return 0


def _frame_total(spec: str) -> int | None:
    """Frames in a video file, when its header says (for the progress bar only)."""
    import av

    try:
        with av.open(spec) as container:
            return container.streams.video[0].frames or None
    except (OSError, ValueError, IndexError, av.FFmpegError):
        return None


def _render_video(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from stylecast.capture import open_source
    from stylecast.outputs.record import open_file_output
    from stylecast.pipeline.threads import Pipeline

    # Refuse a bad INPUT or -o before loading a network (which may export for seconds).
    spec = args.input
    source = open_source(spec, size=args.size, fps=args.fps, loop=False, live=False)
    try:
        sink = open_file_output(args.output)
    except BaseException:
        source.close()
        raise
    try:
        stylizer, _pack = build_stylizer(args.style, engine_options(args))
        endless = spec.split(":")[0] == "test"
        limit = (args.frames or 300) if endless else args.frames
        pipeline = Pipeline(source, stylizer, [sink], live=False, max_frames=limit)
        pipeline.start()
    except BaseException:  # e.g. SIGTERM while the network loads: nothing left half-open
        source.close()
        sink.close()
        raise
    total = limit or _frame_total(spec)
    try:
        with tqdm(total=total, unit="frame", desc=f"render {args.output}",
                  dynamic_ncols=True) as bar:
            while not pipeline.wait(timeout=0.25):
                bar.update(pipeline.stats.frames - bar.n)
            bar.update(pipeline.stats.frames - bar.n)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: close the output so what is written plays
        pipeline.stop()
        print(f"stylecast: stopped after {pipeline.stats.frames} frames; {args.output} is "
              "closed and plays up to there", file=sys.stderr)
        raise
    finally:
        pipeline.stop()
    if pipeline.error is not None:
        raise pipeline.error
    if not pipeline.active_sinks:
        raise ConfigError(f"writing {args.output} failed; see the error above")
    print(f"stylecast: wrote {pipeline.stats.frames} frames to {args.output}", file=sys.stderr)
    return 0
