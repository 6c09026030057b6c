"""The cache inside the Stylizer, the CLI flag and the live control."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from temporal_helpers import ALPHA

from stylecast.cli import build_parser
from stylecast.cli.args import engine_options
from stylecast.control.controller import LiveController
from stylecast.engine.mixer import StyleMixer
from stylecast.engine.stylizer import Stylizer
from stylecast.errors import ConfigError
from stylecast.runtime.pytorch import TorchRuntime
from stylecast.tools.synthetic import make_sequence

NAMES = ["alpha", "beta", "gamma"]


def _stylizer(runtime: TorchRuntime, temporal: bool) -> Stylizer:
    return Stylizer(runtime, StyleMixer(NAMES, {"alpha": 1.0}), temporal=temporal)


def test_no_temporal_is_plain_per_frame_stylization(runtime: TorchRuntime) -> None:
    frames = make_sequence("pan", length=3, size=(64, 48)).frames
    stylizer = _stylizer(runtime, temporal=False)
    for frame in frames:
        assert np.array_equal(stylizer.stylize_array(frame), runtime.infer(frame, ALPHA, 1, 0))
    assert not stylizer.temporal and stylizer.temporal_stats() is None


def test_temporal_is_off_by_default_and_toggles(runtime: TorchRuntime) -> None:
    frames = make_sequence("pan", length=3, size=(64, 48), noise=4.0).frames
    # Off by default until the cache meets its cost goal (docs/TEMPORAL.md).
    assert not Stylizer(runtime, StyleMixer(NAMES, {"alpha": 1.0})).temporal
    stylizer = Stylizer(runtime, StyleMixer(NAMES, {"alpha": 1.0}), temporal=True)
    assert stylizer.temporal
    outs = [stylizer.stylize_array(f) for f in frames]
    assert not np.array_equal(outs[-1], runtime.infer(frames[-1], ALPHA, 1, 0))
    assert stylizer.temporal_stats() == pytest.approx(
        {"frames": 3, "static_frames": 0, "reused_frames": 0, "region_frames": 0, "resets": 0,
         "overhead_ms_per_frame": stylizer.temporal_stats()["overhead_ms_per_frame"]})
    stylizer.temporal = False
    assert np.array_equal(stylizer.stylize_array(frames[0]), runtime.infer(frames[0], ALPHA, 1, 0))
    # Back on: history from before is stale, so the first frame is stylized on its own.
    stylizer.temporal = True
    assert np.array_equal(stylizer.stylize_array(frames[2]), runtime.infer(frames[2], ALPHA, 1, 0))


def test_a_runtime_without_the_temporal_graph_runs_per_frame(runtime: TorchRuntime) -> None:
    class Plain(TorchRuntime):
        supports_temporal = False

    plain = Plain(network=runtime.network)
    plain.open()
    assert not _stylizer(plain, temporal=True).temporal


@pytest.mark.parametrize("command", [["run"], ["render", "in.mp4", "-o", "out.mp4"]])
def test_temporal_flags_on_run_and_render(command: list[str]) -> None:
    parser = build_parser()
    default = engine_options(parser.parse_args(command))
    # On by default, in speed mode (docs/TEMPORAL.md: it meets its goals there).
    assert default.temporal is True and default.temporal_reuse == 1
    assert engine_options(parser.parse_args([*command, "--temporal"])).temporal is True
    assert engine_options(parser.parse_args([*command, "--no-temporal"])).temporal is False
    options = engine_options(parser.parse_args([*command, "--temporal", "--temporal-reuse", "2"]))
    assert options.temporal_reuse == 2
    every_frame = engine_options(parser.parse_args([*command, "--temporal-reuse", "0"]))
    assert every_frame.temporal_reuse == 0
    # The help must not print "(default: True)" under the flag that turns the cache off.
    sub = next(a for a in parser._actions if a.dest == "command").choices[command[0]]
    help_text = " ".join(sub.format_help().split())
    no_temporal = help_text.split("--no-temporal stylize", 1)[1].split("--temporal-reuse")[0]
    assert "default" not in no_temporal, no_temporal


def test_temporal_reuse_reaches_the_cache_and_a_negative_count_is_refused(
        runtime: TorchRuntime) -> None:
    stylizer = Stylizer(runtime, StyleMixer(NAMES, {"alpha": 1.0}), temporal=True,
                        temporal_reuse=2)
    frames = make_sequence("pan", length=3, size=(64, 48), noise=0.0).frames
    for frame in frames:
        stylizer.stylize_array(frame)
    assert stylizer._cache is not None and stylizer._cache.config.reuse == 2
    with pytest.raises(ConfigError, match="--temporal-reuse must be 0 or more, not -1"):
        Stylizer(runtime, StyleMixer(NAMES, {"alpha": 1.0}), temporal_reuse=-1)


def test_live_control_toggles_the_cache_and_reports_it(runtime: TorchRuntime) -> None:
    snapshot = {"fps": 0.0, "latency_p50_ms": None, "latency_p95_ms": None, "drops": 0,
                "frames": 0, "stage_ms": {}}
    pipeline: Any = SimpleNamespace(
        add_listener=lambda cb: None, paused=False, active_sinks=[],
        stats=SimpleNamespace(snapshot=lambda: snapshot))
    stylizer = _stylizer(runtime, temporal=True)
    controller = LiveController(pipeline, stylizer, SimpleNamespace(name="p", styles=[]))
    assert controller.stats()["temporal"] is True
    assert controller.set_temporal(False)["temporal"] is False
    assert not stylizer.temporal
    assert controller.set_temporal(True)["temporal"] is True

    class Plain(TorchRuntime):
        supports_temporal = False

    plain = Plain(network=runtime.network)
    plain.open()
    other = LiveController(pipeline, _stylizer(plain, temporal=False), SimpleNamespace())
    with pytest.raises(ConfigError, match="cannot run the temporal cache"):
        other.set_temporal(True)


def test_warmup_builds_the_temporal_graph_too(runtime: TorchRuntime) -> None:
    stylizer = _stylizer(runtime, temporal=True)
    stylizer.warmup(64, 48)
    assert runtime._temporal is not None
    off = TorchRuntime(network=runtime.network)
    off.open()
    _stylizer(off, temporal=False).warmup(64, 48)
    assert off._temporal is None


def test_a_still_scene_is_not_upsampled_again_and_holds_still(runtime: TorchRuntime) -> None:
    # A still camera at twice the processing size: the cache's static path hands back its
    # last result, and the stage returns the last upsampled frame instead of guiding the new
    # sensor noise back into it. A moving frame is upsampled afresh.
    rng = np.random.default_rng(7)
    scene = rng.integers(40, 216, (96, 128, 3)).astype(np.float32)
    scene = np.repeat(np.repeat(scene[::8, ::8], 8, 0), 8, 1)  # flat blocks: still content
    stages: list[str] = []
    stylizer = Stylizer(runtime, StyleMixer(NAMES, {"alpha": 1.0}), process_size=(64, 48),
                        temporal=True)
    stylizer.stage_callback = lambda stage, seconds: stages.append(stage)

    def shot(image: np.ndarray) -> np.ndarray:
        noisy = image + rng.normal(0, 1.0, image.shape)
        return np.clip(noisy, 0, 255).astype(np.uint8)

    first = stylizer.stylize_array(shot(scene))
    second = stylizer.stylize_array(shot(scene))
    assert stylizer.temporal_stats()["static_frames"] == 1
    assert second is first and stages.count("upsample") == 1
    moved = stylizer.stylize_array(shot(np.roll(scene, 16, axis=1)))
    assert moved.shape == first.shape and stages.count("upsample") == 2
    assert np.abs(moved.astype(int) - first).mean() > 5
