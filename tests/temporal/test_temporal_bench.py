"""``stylecast bench --temporal`` logic on tiny synthetic sequences (no ../shared needed)."""

from __future__ import annotations

from pathlib import Path

from temporal_helpers import ALPHA

from stylecast.bench.temporal import markdown, run_temporal_bench
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
    table = markdown(rows)
    assert table.count("\n") == 2 + len(rows)
