"""``stylecast bench --temporal``: flicker, cost and ghosting with and without the cache.

For each sequence the same frames go through per-frame stylization and through the
temporal cache, interleaved frame by frame (so machine load hits both alike), and we report:

* **warping error** (levels 0..255): mean |O_t - warp(O_{t-1})| over pixels visible in both
  frames, lower is steadier. Synthetic sequences use their exact flow and disocclusion
  masks; real clips use a flow stronger than the run-time one (DIS MEDIUM at full processing
  resolution, versus ULTRAFAST at half) with a forward-backward occlusion mask. Footage
  that ships its true forward flow and occlusion masks or backward flow (``--gt-flow``, see
  :mod:`stylecast.tools.bench.groundtruth`) is scored by the standard forward-flow error.
* **ms per frame** with and without (mean over the frames after the first: with ``reuse`` the
  cached frames alternate between a network run and a cheap reuse, which a median hides),
  and the cache's overhead outside the network.
* **cost ratio**: cached time over per-frame time, the median over windows of ``reuse + 1``
  consecutive frames (one frame in quality mode; a run and its reuses in speed mode). Each
  window's two times were measured side by side, so a load spike on this shared machine
  moves one window, not the figure, as it would move a mean.
* **ghosting** (levels): in moving regions, mean |cached output - that frame stylized alone|;
  a trail behind a moving object shows up here (and in ``uncovered`` for synthetic objects).
* **detail kept**: mean |Laplacian| of the cached output's grey over that of per-frame
  output (1 = as crisp). Blending history trades the strokes' frame-to-frame boiling for
  some of their crispness, and a blurred picture also scores a low warping error: this
  column keeps that trade in view.
* optionally (``output``), the **live stage cost**: what a frame costs the stylize thread of
  ``stylecast run`` (resize from the output size to the processing size, the network or the
  cache, guided upsampling back), without and with the cache, interleaved the same way. The
  cache's CPU work is the same in both measures; the stage adds the work around the network
  that every frame pays, so this is the share of a live frame's time the cache adds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from stylecast.runtime.base import Runtime
from stylecast.temporal.cache import TemporalCache
from stylecast.temporal.config import TemporalConfig
from stylecast.tools.bench.clips import (
    GROUND_TRUTH,
    Clip,
    GroundTruth,
    ground_truth_clip,
    photo_clips,
    real_clips,
    synthetic_clips,
)
from stylecast.tools.synthetic import warping_error


@dataclass
class TemporalRow:
    """One sequence's numbers; errors and ghosting in levels (0..255), times in ms."""

    sequence: str
    flow: str
    frames: int
    size: str
    error_per_frame: float
    error_cached: float
    ms_per_frame: float
    ms_cached: float
    overhead_ms: float
    cost_ratio: float
    ghost_moving: float
    ghost_uncovered: float | None
    trail_uncovered: float | None
    static_frames: int
    reused_frames: int
    resets: int
    detail_kept: float = 1.0
    region_frames: int = 0  # of the reused frames, those the network ran on a crop of
    stage_ms_per_frame: float | None = None
    stage_ms_cached: float | None = None
    stage_cost_ratio: float | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def clip_warping_error(outputs: list[np.ndarray], clip: Clip) -> float:
    """:func:`warping_error` in the clip's flow direction. A forward clip is scored on the
    reversed sequence: frame t + 1 is then "the previous frame" and the forward flow F_t the
    backward flow that samples it, which is the standard forward-flow warping error."""
    if clip.forward:
        return warping_error(outputs[::-1], clip.flows[::-1], clip.valid[::-1])
    return warping_error(outputs, clip.flows, clip.valid)


def warm_crop_sizes(runtime: Runtime, frames: list[np.ndarray], style: np.ndarray,
                    config: TemporalConfig | None = None) -> None:
    """Run the cache over ``frames`` once, untimed, and wait for the crop sizes it asked for
    to compile: a runtime that compiles per size (OpenVINO) does so on a background thread
    the first time a size is needed (~0.4 s each), running whole frames meanwhile. The bench
    measures the steady state, as it skips the first frame's one-off costs."""
    cache = TemporalCache(runtime, config)
    if cache.config.reuse <= 0 or not cache.config.region:
        return
    for frame in frames:
        cache.stylize(frame, style, 1.0, 0.0)
    runtime.finish_builds()


def _interleaved(
    runtime: Runtime, frames: list[np.ndarray], style: np.ndarray,
    config: TemporalConfig | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray], list[float], list[float], TemporalCache]:
    warm_crop_sizes(runtime, frames, style, config)
    cache = TemporalCache(runtime, config)
    per_frame: list[np.ndarray] = []
    cached: list[np.ndarray] = []
    t_plain: list[float] = []
    t_cached: list[float] = []
    for frame in frames:
        t0 = time.perf_counter()
        per_frame.append(runtime.infer(frame, style, 1.0, 0.0))
        t1 = time.perf_counter()
        cached.append(cache.stylize(frame, style, 1.0, 0.0).copy())
        t2 = time.perf_counter()
        t_plain.append(t1 - t0)
        t_cached.append(t2 - t1)
    return per_frame, cached, t_plain, t_cached, cache


def detail(image: np.ndarray) -> float:
    """Mean |Laplacian| of ``image``'s grey (levels): how much fine detail it holds."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean())


def detail_kept(per_frame: list[np.ndarray], cached: list[np.ndarray]) -> float:
    """:func:`detail` of the cached outputs over that of the per-frame ones, after the
    first frame (which is the same both ways)."""
    plain = sum(detail(o) for o in per_frame[1:])
    return sum(detail(o) for o in cached[1:]) / plain if plain else 1.0


def measure(
    runtime: Runtime, clip: Clip, style: np.ndarray, config: TemporalConfig | None = None,
) -> tuple[TemporalRow, list[np.ndarray], list[np.ndarray]]:
    """Run ``clip`` both ways; returns the row and both output lists (for the strip)."""
    per_frame, cached, t_plain, t_cached, cache = _interleaved(runtime, clip.frames, style,
                                                               config)
    moving_ghost, uncovered_ghost, uncovered_trail = [], [], []
    for t in range(1, len(clip.frames)):
        diff = np.abs(cached[t].astype(np.float32) - per_frame[t]).mean(-1)
        motion = clip.motion_at(t)
        if motion is not None:
            flow, scored = motion
            moving = (np.linalg.norm(flow, axis=-1) > 0.5) & scored
            if moving.any():
                moving_ghost.append(float(diff[moving].mean()))
        if clip.uncovered is not None and clip.uncovered[t - 1].any():
            uncovered_ghost.append(float(diff[clip.uncovered[t - 1]].mean()))
            # What a full trail would score: the last frame's object left in place.
            trail = np.abs(per_frame[t - 1].astype(np.float32) - per_frame[t]).mean(-1)
            uncovered_trail.append(float(trail[clip.uncovered[t - 1]].mean()))
    h, w = clip.frames[0].shape[:2]
    # Skip the first frame's times: it carries one-off costs (allocation, compilation).
    row = TemporalRow(
        sequence=clip.name, flow=clip.flow, frames=len(clip.frames), size=f"{w}x{h}",
        error_per_frame=round(clip_warping_error(per_frame, clip), 2),
        error_cached=round(clip_warping_error(cached, clip), 2),
        ms_per_frame=round(1000 * float(np.mean(t_plain[1:])), 2),
        ms_cached=round(1000 * float(np.mean(t_cached[1:])), 2),
        overhead_ms=round(cache.stats.as_dict()["overhead_ms_per_frame"], 2),
        cost_ratio=round(cost_ratio(t_plain[1:], t_cached[1:], cache.config.reuse + 1), 3),
        ghost_moving=round(float(np.mean(moving_ghost)), 2) if moving_ghost else 0.0,
        ghost_uncovered=(round(float(np.mean(uncovered_ghost)), 2) if uncovered_ghost
                         else None),
        trail_uncovered=(round(float(np.mean(uncovered_trail)), 2) if uncovered_trail
                         else None),
        static_frames=cache.stats.static_frames, reused_frames=cache.stats.reused_frames,
        region_frames=cache.stats.region_frames,
        resets=cache.stats.resets, detail_kept=round(detail_kept(per_frame, cached), 2),
    )
    return row, per_frame, cached


def measure_stage(runtime: Runtime, frames: list[np.ndarray], style: np.ndarray,
                  output: tuple[int, int], config: TemporalConfig | None = None,
                  ) -> tuple[float, float, float]:
    """The live stylize stage per frame, without and with the cache: each frame is scaled up
    to ``output`` (width, height), as a camera would deliver it, and goes through two
    ``Stylizer``s (processing size = the frames' own size, guided upsampling) interleaved.

    Returns:
        Mean ms per frame without and with the cache (frames after the first) and the cost
        ratio, as in :func:`cost_ratio`.
    """
    from stylecast.engine.mixer import StyleMixer
    from stylecast.engine.stylizer import Stylizer

    names = [f"style{i}" for i in range(len(style))]
    mixer = StyleMixer(names, {names[int(style.argmax())]: 1.0})
    height, width = frames[0].shape[:2]
    config = config or TemporalConfig()
    plain = Stylizer(runtime, mixer, process_size=(width, height))
    cached = Stylizer(runtime, mixer, process_size=(width, height), temporal=True,
                      temporal_config=config)
    t_plain, t_cached = [], []
    for frame in frames:
        camera = cv2.resize(frame, output, interpolation=cv2.INTER_LINEAR)
        t0 = time.perf_counter()
        plain.stylize_array(camera)
        t1 = time.perf_counter()
        cached.stylize_array(camera)
        t2 = time.perf_counter()
        t_plain.append(t1 - t0)
        t_cached.append(t2 - t1)
    return (1000 * float(np.mean(t_plain[1:])), 1000 * float(np.mean(t_cached[1:])),
            cost_ratio(t_plain[1:], t_cached[1:], config.reuse + 1))


def cost_ratio(plain: list[float], cached: list[float], window: int) -> float:
    """Median over consecutive windows of ``window`` frames of sum(cached) / sum(plain)."""
    ratios = [sum(cached[i:i + window]) / sum(plain[i:i + window])
              for i in range(0, len(plain) - window + 1, window)]
    return float(np.median(ratios)) if ratios else float("nan")


def strip(frames: list[np.ndarray], per_frame: list[np.ndarray], cached: list[np.ndarray],
          path: Path, start: int = 1, count: int = 6) -> None:
    """Rows: per-frame stylization and with the cache; ``count`` consecutive frames.

    The input frames are not drawn: real clips come from the training data, and the
    project ships only its own renders.
    """
    del frames
    rows = []
    for label, images in (("per-frame", per_frame), ("temporal cache", cached)):
        tiles = [np.ascontiguousarray(images[i]) for i in range(start, start + count)]
        row = np.concatenate(tiles, axis=1).copy()
        cv2.putText(row, label, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
        rows.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR))


def run_temporal_bench(
    runtime: Runtime, style: np.ndarray, size: tuple[int, int], length: int,
    noise: float, clip_root: Path | None, strip_path: Path | None, strip_clip: str,
    photo_root: Path | None = None, config: TemporalConfig | None = None,
    output: tuple[int, int] | None = None, ground_truth: Sequence[GroundTruth] = (),
    only_ground_truth: bool = False,
) -> list[TemporalRow]:
    """Every synthetic sequence, the photo sequences and the real clips present, then the
    ``ground_truth`` sequences (alone with ``only_ground_truth``); optionally writes the
    strip of the sequence named ``strip_clip``, and with ``output`` (width, height) also
    measures the live stage cost (:func:`measure_stage`)."""
    rows = []
    # Ground truth is read first: a bad path fails before minutes of other sequences.
    truth = [ground_truth_clip(source, size, length) for source in ground_truth]
    clips: list[Clip] = []
    if not only_ground_truth:
        clips += synthetic_clips(size, length, noise)
        if photo_root is not None:
            clips += photo_clips(photo_root, size, length, noise)
        if clip_root is not None and clip_root.is_dir():
            clips += real_clips(clip_root, size, length)
    clips += truth
    for clip in clips:
        row, per_frame, cached = measure(runtime, clip, style, config)
        if output is not None:
            plain_ms, cached_ms, ratio = measure_stage(runtime, clip.frames, style, output,
                                                       config)
            row.stage_ms_per_frame, row.stage_ms_cached = round(plain_ms, 2), round(cached_ms, 2)
            row.stage_cost_ratio = round(ratio, 3)
        rows.append(row)
        if strip_path is not None and clip.name == strip_clip and len(clip.frames) >= 7:
            strip(clip.frames, per_frame, cached, strip_path)
    return rows


def markdown(rows: list[TemporalRow]) -> str:
    """The rows as one markdown table."""
    head = ("| sequence | reference flow | frames | size | warping error per-frame | "
            "warping error cached | ratio | ms per-frame | ms cached | cost ratio | "
            "cache overhead ms | ghosting (moving) | ghosting (uncovered) / full trail | "
            "detail kept | static frames | reused frames (on a crop) | resets |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    body = ""
    for r in rows:
        ratio = r.error_cached / r.error_per_frame if r.error_per_frame else float("nan")
        uncovered = ("" if r.ghost_uncovered is None
                     else f"{r.ghost_uncovered:.2f} / {r.trail_uncovered:.2f}")
        body += (f"| {r.sequence} | {r.flow} | {r.frames} | {r.size} | {r.error_per_frame:.2f} "
                 f"| {r.error_cached:.2f} | {ratio:.2f} | {r.ms_per_frame:.1f} | "
                 f"{r.ms_cached:.1f} | {r.cost_ratio:.2f} | {r.overhead_ms:.2f} | "
                 f"{r.ghost_moving:.2f} | "
                 f"{uncovered} | {r.detail_kept:.2f} | {r.static_frames} | "
                 f"{r.reused_frames} ({r.region_frames}) | "
                 f"{r.resets} |\n")
    return head + body + stage_markdown(rows) + summary(rows)


def stage_markdown(rows: list[TemporalRow]) -> str:
    """The live stage costs as a second table; empty when they were not measured."""
    staged = [r for r in rows if r.stage_cost_ratio is not None]
    if not staged:
        return ""
    text = ("\nLive stylize stage per frame (resize, network or cache, guided upsampling):\n\n"
            "| sequence | stage ms per-frame | stage ms cached | stage cost ratio |\n"
            "|---|---|---|---|\n")
    for r in staged:
        text += (f"| {r.sequence} | {r.stage_ms_per_frame:.1f} | {r.stage_ms_cached:.1f} | "
                 f"{r.stage_cost_ratio:.2f} |\n")
    return text


def summary(rows: list[TemporalRow]) -> str:
    """Medians over the moving sequences (the still one measures the static path)."""
    moving = [r for r in rows if r.static_frames < r.frames // 2 and r.error_per_frame > 0]
    if not moving:
        return ""
    error = np.median([r.error_cached / r.error_per_frame for r in moving])
    cost = np.median([r.cost_ratio for r in moving])
    halved = sum(r.error_cached <= 0.5 * r.error_per_frame for r in moving)
    kept = np.median([r.detail_kept for r in moving])
    text = (f"\nOver the {len(moving)} moving sequences: median warping-error ratio "
            f"{error:.2f} (halved on {halved}), median detail kept {kept:.2f}, median cost "
            f"ratio {cost:.3f} ({(cost - 1) * 100:+.1f} % per frame)")
    stages = [r.stage_cost_ratio for r in moving if r.stage_cost_ratio is not None]
    if stages:
        stage = float(np.median(stages))
        text += (f"; live stage median cost ratio {stage:.3f} ({(stage - 1) * 100:+.1f} % "
                 "per frame)")
    truth = [r for r in moving if r.flow.startswith(GROUND_TRUTH)]
    if truth:
        ratios = [r.error_cached / r.error_per_frame for r in truth]
        text += (f". On the {len(truth)} with ground-truth flow: median warping-error ratio "
                 f"{np.median(ratios):.2f} (halved on {sum(x <= 0.5 for x in ratios)})")
    return text + ".\n"
