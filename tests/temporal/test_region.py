"""The region path: where its crops go, that a crop with the whole frame's statistics gives
the whole frame's result, and that a reused frame shows nothing stale where it is used."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pytest
from temporal_helpers import ALPHA, SPREAD, CallCounter

from stylecast.runtime.pytorch import TorchRuntime
from stylecast.temporal.cache import TemporalCache
from stylecast.temporal.config import TemporalConfig
from stylecast.temporal.region import crop_sizes, crops_for
from stylecast.temporal.state import TemporalInputs
from stylecast.tools.synthetic import make_sequence, texture
from tests.conftest import make_network

GRID = (68, 120)  # the feature grid of a 480x272 frame


def _mask(*boxes: tuple[int, int, int, int]) -> np.ndarray:
    mask = np.zeros(GRID, np.uint8)
    for top, left, bottom, right in boxes:
        mask[top:bottom, left:right] = 255
    return mask


def test_a_blob_gets_one_crop_with_its_margin_in_eighths_of_the_frame() -> None:
    crops = crops_for(_mask((30, 50, 36, 60)), margin=8, max_area=0.5)
    assert crops is not None and len(crops) == 1
    crop = crops[0]
    # 10 x 6 cells and 8 on each side need 26 x 22: the eighths that hold them are 30 and 26.
    assert (crop.height, crop.width) == (26, 30)
    assert crop.top <= 30 - 8 and crop.top + crop.height >= 36 + 8
    assert crop.left <= 50 - 8 and crop.left + crop.width >= 60 + 8
    top, left, bottom, right = crop.inner
    assert top == crop.top + 8 and bottom == crop.top + crop.height - 8
    assert left <= 50 and right >= 60


def test_a_strip_at_the_frame_edge_needs_context_on_its_inner_side_only() -> None:
    crops = crops_for(_mask((0, 117, 68, 120)), margin=8, max_area=0.5)
    assert crops is not None and len(crops) == 1
    crop = crops[0]
    assert (crop.top, crop.height) == (0, 68)  # the whole height: the strip spans it
    assert crop.left + crop.width == 120 and crop.width == 15  # 3 + 8 cells: one eighth
    assert crop.inner == (0, 113, 68, 120)  # up to the frame's edges, 8 cells in elsewhere


def test_far_apart_groups_get_a_crop_each_and_too_many_or_too_much_run_whole() -> None:
    two = crops_for(_mask((5, 5, 8, 8), (55, 100, 60, 110)), margin=8, max_area=0.5)
    assert two is not None and len(two) == 2
    near = crops_for(_mask((30, 50, 32, 52), (30, 60, 32, 62)), margin=8, max_area=0.5)
    assert near is not None and len(near) == 1  # closer than twice the margin: one crop
    spread = _mask(*[(10 + 20 * (i // 3), 10 + 40 * (i % 3), 12 + 20 * (i // 3),
                      12 + 40 * (i % 3)) for i in range(6)])
    assert crops_for(spread, margin=8, max_area=1.0, max_crops=4) is None
    assert crops_for(_mask((10, 10, 60, 110)), margin=8, max_area=0.5) is None
    assert crops_for(_mask(), margin=8, max_area=0.5) == []


def test_a_diagonal_pans_two_edges_get_a_strip_each() -> None:
    # Content comes in along the right and the bottom edge: one group, whose box is the
    # whole frame; as two strips the crops cover a quarter of it each.
    corner = _mask((0, 116, 68, 120), (64, 0, 68, 120))
    crops = crops_for(corner, margin=8, max_area=0.5)
    assert crops is not None and len(crops) == 2
    assert sum(c.height * c.width for c in crops) <= 0.5 * GRID[0] * GRID[1]
    covered = np.zeros(GRID, bool)
    for crop in crops:
        rows, cols = crop.inner_in(1)
        covered[rows, cols] = True
    assert covered[corner > 0].all()  # every untrusted cell in some crop's used part
    # A blob inside the frame besides the strips gets its own crop.
    with_blob = crops_for(corner | _mask((30, 50, 34, 56)), margin=8, max_area=0.6)
    assert with_blob is not None and len(with_blob) == 3
    # A lone strip stays one crop, as before (the groups are tried first).
    assert len(crops_for(_mask((0, 116, 68, 120)), margin=8, max_area=0.5) or []) == 1


def test_a_crop_normalised_by_the_whole_frame_matches_the_whole_frame() -> None:
    # The shipped lite network on a textured frame: with the whole frame's statistics fed
    # back (rate 0) and 32 px of context, the crop's inner part is the whole frame's result
    # to a fraction of a level; normalised by the crop alone it is not.
    from stylecast.styles import StyleCatalog

    catalog = StyleCatalog.discover()
    network = catalog.pack_of(catalog.default_style()).load_network("lite")
    runtime = TorchRuntime(network=network)
    runtime.open()
    style = np.zeros(network.spec.num_styles, np.float32)
    style[0] = 1.0
    frame = texture(192, 256, seed=3)
    k = network.stats_channels
    whole, whole_state = runtime.infer_temporal(
        frame, style, 1.0, 0.0, TemporalInputs.empty(network.spec.channels, k, 48, 64))
    runtime_stats = whole_state.stats
    top, left, size, margin = 64, 96, 64, 32
    crop = np.ascontiguousarray(frame[top - margin:top + size + margin,
                                      left - margin:left + size + margin])
    cells = (size + 2 * margin) // 4

    def inner(stats: np.ndarray, rate: float) -> np.ndarray:
        state = TemporalInputs.empty(network.spec.channels, k, cells, cells)
        state = TemporalInputs(state.prev_feats, state.confidence, stats,
                               np.array([rate], np.float32))
        out, _ = runtime.infer_temporal(crop, style, 1.0, 0.0, state)
        return out[margin:margin + size, margin:margin + size].astype(float)

    want = whole[top:top + size, left:left + size].astype(float)
    fixed = np.abs(inner(runtime_stats, 0.0) - want).mean()
    own = np.abs(inner(runtime_stats, 1.0) - want).mean()
    assert fixed < 0.5 and own > 4 * fixed, (fixed, own)


def _ghosting(runtime: TorchRuntime, config: TemporalConfig) -> tuple[float, TemporalCache]:
    """Mean |cached - per-frame| over the uncovered background on reused frames."""
    seq = make_sequence("object", length=9, size=(256, 192), noise=0.0)
    cache = TemporalCache(runtime, config)
    ghost = []
    for t, frame in enumerate(seq.frames):
        reused = cache.stats.reused_frames
        out = cache.stylize(frame, ALPHA, 1.0, 0.0).astype(float)
        if t and cache.stats.reused_frames > reused:
            fresh = runtime.infer(frame, ALPHA, 1.0, 0.0)
            ghost.append(np.abs(out - fresh).mean(-1)[~seq.valid[t - 1]].mean())
    assert ghost, "no frame was reused"
    return float(np.mean(ghost)), cache


def test_reused_frames_show_the_uncovered_background_fresh(runtime: TorchRuntime) -> None:
    stale, _ = _ghosting(runtime, TemporalConfig(reuse=1, reuse_confidence=0.5, region=False))
    fresh, cache = _ghosting(runtime, TemporalConfig(reuse=1, region_margin=4))
    assert cache.stats.region_frames == cache.stats.reused_frames > 0
    # Carried alone the uncovered background is worse than a full trail (~32 levels against
    # ~21 here); refreshed on a crop it is ~14 (~11 when whole frames run).
    assert fresh < 0.5 * stale, (fresh, stale)


def test_a_reused_frame_outside_its_crops_is_the_carried_picture(
        runtime: TorchRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    seq = make_sequence("object", length=2, size=(256, 192), noise=0.0)
    cache = TemporalCache(runtime, TemporalConfig(reuse=1, region_margin=4))
    first = cache.stylize(seq.frames[0], ALPHA, 1.0, 0.0).copy()
    used: list = []
    refresh = cache._refresh

    def spy(frame, inputs, motion, crop, out, stats):  # type: ignore[no-untyped-def]  # a spy taking whatever the callee passes
        used.append((crop, motion.flow))
        return refresh(frame, inputs, motion, crop, out, stats)

    monkeypatch.setattr(cache, "_refresh", spy)
    out = cache.stylize(seq.frames[1], ALPHA, 1.0, 0.0)
    assert cache.stats.region_frames == 1 and used
    carried = cache._warper.warp(first, used[0][1])
    outside = np.ones(out.shape[:2], bool)
    for crop, _ in used:
        outside[crop.inner_in(4)] = False
    assert outside.mean() > 0.5
    assert np.array_equal(out[outside], carried[outside])
    assert not np.array_equal(out[~outside], carried[~outside])


def test_a_style_change_never_takes_the_region_path(runtime: TorchRuntime) -> None:
    seq = make_sequence("object", length=2, size=(256, 192), noise=0.0)
    cache = TemporalCache(runtime, TemporalConfig(reuse=1, region_margin=4))
    cache.stylize(seq.frames[0], ALPHA, 1.0, 0.0)
    cache.stylize(seq.frames[1], ALPHA, 0.9, 0.0)
    assert cache.stats.reused_frames == 0


def test_crop_sizes_lists_every_crop_the_region_path_can_give() -> None:
    sizes = crop_sizes(*GRID, max_area=0.5)
    heights = {h for h, _ in sizes}
    assert heights == {9, 17, 26, 34, 43, 51, 60, 68}  # eighths of 68, rounded up
    assert all(h * w <= 0.5 * GRID[0] * GRID[1] for h, w in sizes)
    assert (68, 60) in sizes and (68, 75) not in sizes and len(sizes) == 51
    rng = np.random.default_rng(3)
    for _ in range(200):  # random blobs: every crop they get is in the list
        top, left = int(rng.integers(0, 60)), int(rng.integers(0, 110))
        mask = _mask((top, left, top + int(rng.integers(1, 30)), left + int(rng.integers(1, 60))))
        for crop in crops_for(mask, margin=8, max_area=0.5) or []:
            assert (crop.height, crop.width) in sizes


def test_openvino_prepares_crop_sizes_in_the_background_on_one_compile(
        tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    from stylecast.runtime.openvino_runtime import OpenVinoRuntime

    runtime = OpenVinoRuntime(network=make_network(spread=SPREAD), precision="f32",
                              cache_dir=tmp_path)
    runtime.open()
    try:
        compiles = CallCounter(runtime, "_compile")
        assert runtime.temporal_ready(64, 96) is False  # not prepared: starts preparing
        deadline = time.monotonic() + 60.0
        while not runtime.temporal_ready(64, 96):
            assert time.monotonic() < deadline, "the background preparation never finished"
            time.sleep(0.05)
        k = runtime._temporal_graph().input("prev_stats").get_partial_shape()[2].get_length()
        frame = np.zeros((64, 96, 3), np.uint8)
        out, _ = runtime.infer_temporal(frame, ALPHA, 1.0, 0.0,
                                        TemporalInputs.empty(16, k, 16, 24))
        assert out.shape == (64, 96, 3)
        # The bench waits for what is being prepared before it measures (finish_builds).
        assert runtime.temporal_ready(32, 64) is False
        runtime.finish_builds()
        assert runtime.temporal_ready(32, 64) is True
        out, _ = runtime.infer_temporal(np.zeros((32, 64, 3), np.uint8), ALPHA, 1.0, 0.0,
                                        TemporalInputs.empty(16, k, 8, 16))
        assert out.shape == (32, 64, 3)
        # A crop size run while it is still being prepared waits for it (no compile).
        assert runtime.temporal_ready(40, 64) is False
        out, _ = runtime.infer_temporal(np.zeros((40, 64, 3), np.uint8), ALPHA, 1.0, 0.0,
                                        TemporalInputs.empty(16, k, 10, 16))
        assert out.shape == (40, 64, 3) and runtime.temporal_ready(40, 64) is True
        # Every crop size ran on the one crop graph: one compile, none per size.
        assert compiles.calls == 1 and not runtime._temporal_compiled
        # A whole frame (a size never asked for as a crop) gets its own compile.
        runtime.infer_temporal(np.zeros((48, 80, 3), np.uint8), ALPHA, 1.0, 0.0,
                               TemporalInputs.empty(16, k, 12, 20))
        assert compiles.calls == 2 and list(runtime._temporal_compiled) == [(48, 80)]
    finally:
        runtime.close()


def test_openvino_crop_sizes_that_cannot_compile_are_reported_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("openvino")
    from stylecast.runtime.openvino_runtime import OpenVinoRuntime

    runtime = OpenVinoRuntime(network=make_network(spread=SPREAD), precision="f32",
                              cache_dir=tmp_path)
    runtime.open()
    try:
        runtime._compile = _failing  # type: ignore[assignment,method-assign]  # a failing compile patched in
        with caplog.at_level(logging.WARNING):
            assert runtime.temporal_ready(32, 48) is False
            runtime._building[(32, 48)].exception()  # wait for the attempt
            assert runtime.temporal_ready(32, 48) is False
            assert runtime.temporal_ready(32, 48) is False
        assert (32, 48) in runtime._unbuildable and (32, 48) not in runtime._building
        assert sum("did not compile at 48x32" in r.message for r in caplog.records) == 1
    finally:
        runtime.close()


def test_openvino_memory_for_many_crop_sizes_stays_small(tmp_path: Path) -> None:
    """Issue #23: one compile per crop size held ~11 MB each for this tiny network (~23 MB
    for the shipped one), so a long show that met 30 crop sizes grew by hundreds of MB.
    On the shared crop graph a size costs ~1.5 MB."""
    pytest.importorskip("openvino")
    from stylecast.runtime.openvino_runtime import OpenVinoRuntime
    from stylecast.tools.soak.harness import rss_mb

    runtime = OpenVinoRuntime(network=make_network(spread=SPREAD), precision="f32",
                              cache_dir=tmp_path)
    runtime.open()
    try:
        sizes = crop_sizes(24, 40, max_area=0.5)[:20]
        runtime.temporal_ready(sizes[0][0] * 4, sizes[0][1] * 4)
        runtime.finish_builds()  # the crop graph itself (~10 MB) is not what is measured
        before = rss_mb()
        for rows, cols in sizes[1:]:
            runtime.temporal_ready(rows * 4, cols * 4)
        runtime.finish_builds()
        assert all(runtime.temporal_ready(rows * 4, cols * 4) for rows, cols in sizes)
        grown = rss_mb() - before
        assert grown < 60.0, f"{len(sizes) - 1} crop sizes took {grown:.0f} MB"
    finally:
        runtime.close()


def _failing(*args: object, **kwargs: object) -> None:
    from stylecast.errors import EngineBuildError

    raise EngineBuildError("no memory for this size")
