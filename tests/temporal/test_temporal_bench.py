"""``stylecast bench --temporal`` logic on tiny synthetic sequences (no ../shared needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporal_helpers import ALPHA, CallCounter

from stylecast.runtime.pytorch import TorchRuntime
from stylecast.temporal.config import TemporalConfig
from stylecast.tools.bench.temporal import cost_ratio, markdown, run_temporal_bench, warm_crop_sizes
from stylecast.tools.synthetic import make_sequence


def test_bench_rows_strip_and_table(runtime: TorchRuntime, tmp_path: Path) -> None:
    strip = tmp_path / "strip.png"
    rows = run_temporal_bench(runtime, ALPHA, (96, 64), 8, 4.0, tmp_path / "absent", strip,
                              "synthetic object")
    names = [r.sequence for r in rows]
    assert names == ["synthetic pan", "synthetic zoom", "synthetic object",
                     "synthetic still (camera noise)"]
    still = rows[-1]
    assert still.static_frames == 7 and still.error_cached == 0.0
    obj = rows[2]
    assert obj.ghost_uncovered is not None and obj.trail_uncovered is not None
    assert strip.is_file() and strip.stat().st_size > 1000
    assert all(r.cost_ratio > 0 for r in rows)
    assert still.cost_ratio < 0.5  # the static path skips the network
    table = markdown(rows)
    assert table.count("|\n") == 2 + len(rows)
    assert "Over the 3 moving sequences: median warping-error ratio" in table


def test_cost_ratio_is_a_median_of_side_by_side_windows() -> None:
    plain = [10.0, 10.0, 10.0, 10.0, 10.0, 10.0]
    # One load spike in the cached times moves one window, not the figure.
    cached = [11.0, 11.0, 11.0, 50.0, 11.0, 11.0]
    assert cost_ratio(plain, cached, 1) == pytest.approx(1.1)
    # Speed mode: a network run then a reuse; per-frame medians would say 1.1 or 0.2.
    assert cost_ratio(plain, [11.0, 2.0] * 3, 2) == pytest.approx(0.65)
    assert cost_ratio([], [], 1) != cost_ratio([], [], 1)  # nan: nothing measured


def test_live_stage_cost_is_measured_when_an_output_size_is_given(
        runtime: TorchRuntime, tmp_path: Path) -> None:
    rows = run_temporal_bench(runtime, ALPHA, (96, 64), 6, 4.0, tmp_path / "absent", None,
                              "synthetic object", output=(192, 128))
    for row in rows:
        assert row.stage_ms_per_frame is not None and row.stage_ms_per_frame > 0
        assert row.stage_ms_cached is not None and row.stage_cost_ratio is not None
    # The still scene skips the network on the cached side; both sides still upsample.
    assert rows[-1].stage_cost_ratio < 0.9
    table = markdown(rows)
    assert "Live stylize stage per frame" in table
    stage_rows = [line for line in table.splitlines() if line.startswith("| synthetic")]
    assert len(stage_rows) == 2 * len(rows)  # once in each table
    assert "live stage median cost ratio" in table


def test_without_an_output_size_there_is_no_stage_table(runtime: TorchRuntime,
                                                        tmp_path: Path) -> None:
    rows = run_temporal_bench(runtime, ALPHA, (96, 64), 4, 4.0, tmp_path / "absent", None,
                              "synthetic object")
    assert all(r.stage_cost_ratio is None for r in rows)
    table = markdown(rows)
    assert "Live stylize stage" not in table and "live stage" not in table


def test_an_output_smaller_than_the_processing_size_is_refused(
        capsys: pytest.CaptureFixture[str]) -> None:
    from stylecast.cli import main

    assert main(["bench", "--temporal", "--temporal-size", "640x360",
                 "--temporal-output", "320x180"]) == 1
    err = capsys.readouterr().err
    assert "--temporal-output 320x180 is smaller than --temporal-size 640x360" in err


def test_detail_kept_measures_blur_and_reaches_the_table() -> None:
    import cv2
    import numpy as np

    from stylecast.tools.bench.temporal import TemporalRow, detail_kept, summary
    from stylecast.tools.synthetic import texture

    crisp = [texture(64, 96, seed=s).astype(np.uint8) for s in range(4)]
    blurred = [cv2.GaussianBlur(i, (5, 5), 1.5) for i in crisp]
    assert detail_kept(crisp, crisp) == pytest.approx(1.0)
    assert detail_kept(crisp, blurred) < 0.7
    # The first frame is the same both ways and is left out.
    assert detail_kept(crisp, [np.zeros_like(crisp[0])] + crisp[1:]) == pytest.approx(1.0)
    row = TemporalRow("s", "exact", 8, "96x64", 10.0, 4.0, 20.0, 22.0, 2.0, 1.1, 3.0, None,
                      None, 0, 0, 0, detail_kept=0.62)
    assert "| 0.62 | 0 | 0 (0) | 0 |" in markdown([row])
    assert "median detail kept 0.62" in summary([row])


def test_speed_mode_is_measured_after_its_crop_sizes_are_compiled(
        runtime: TorchRuntime) -> None:
    # The region path's crop sizes compile in the background on first use (OpenVINO); the
    # bench runs the clip once untimed and waits for them, so it measures the steady state.
    frames = make_sequence("object", length=4, size=(96, 64), noise=0.0).frames
    waits = CallCounter(runtime, "finish_builds")
    runs = CallCounter(runtime, "infer_temporal")
    warm_crop_sizes(runtime, frames, ALPHA, TemporalConfig(reuse=0))
    assert (waits.calls, runs.calls) == (0, 0)  # no crops without reuse: nothing to warm
    warm_crop_sizes(runtime, frames, ALPHA, TemporalConfig(reuse=1))
    assert waits.calls == 1 and runs.calls >= 2
