"""``stylecast bench --temporal`` logic on tiny synthetic sequences (no ../shared needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporal_helpers import ALPHA

from stylecast.bench.temporal import cost_ratio, markdown, run_temporal_bench
from stylecast.runtime.pytorch import TorchRuntime


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
