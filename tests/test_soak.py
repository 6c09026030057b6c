"""The soak: its verdict logic, a short CLI run, and a minute-long run (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stylecast.app import EngineOptions, build_stylizer
from stylecast.capture import open_source
from stylecast.cli import main
from stylecast.soak import Sample, SoakOptions, SoakReport, judge, rss_mb, run_soak

pytestmark = pytest.mark.usefixtures("styles_env")


def _samples(rss: list[float], p95: list[float], queued: int = 0) -> list[Sample]:
    return [Sample(t_s=float(i), rss_mb=r, p95_ms=p, p50_ms=p / 2, fps=30.0, queued=queued,
                   drops=0, frames=30 * i) for i, (r, p) in enumerate(zip(rss, p95, strict=True))]


def _verdicts(report: SoakReport) -> dict[str, bool]:
    return {c.name: c.ok for c in judge(report, alive=True)}


def test_judge_passes_a_flat_run_and_catches_a_leak_and_a_slowdown() -> None:
    options = SoakOptions(warmup_s=2, window=3)
    flat = SoakReport(options, samples=_samples([300.0] * 10, [50.0] * 10))
    assert all(_verdicts(flat).values()), judge(flat, alive=True)
    leak = SoakReport(options, samples=_samples([300.0 + 10 * i for i in range(10)],
                                                [50.0] * 10))
    slow = SoakReport(options, samples=_samples([300.0] * 10, [50.0 + 5 * i for i in range(10)]))
    assert _verdicts(leak)["RSS growth"] is False
    assert _verdicts(slow)["p95 latency stable"] is False
    crashed = SoakReport(options, samples=flat.samples, error="runtime failed")
    assert not judge(crashed, alive=False)[0].ok
    short = SoakReport(options, samples=flat.samples[:4])
    assert "enough samples" in _verdicts(short)


def test_rss_is_read_from_proc() -> None:
    assert 10 < rss_mb() < 100_000


def test_soak_command_drives_control_and_writes_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["soak", "--minutes", "0.2", "--warmup", "2", "--sample-every", "0.5",
                 "--window", "3", "--size", "64x48", "--style-every", "1",
                 "--max-rss-growth", "0.5", "--max-p95-change", "5",
                 "--runtime", "torch", "--json", str(tmp_path / "s.json"),
                 "--markdown", str(tmp_path / "s.md")])
    out = capsys.readouterr().out
    data = json.loads((tmp_path / "s.json").read_text())
    assert code == 0, out
    assert data["ok"] is True and "soak PASSED" in out
    assert data["style_changes"] >= 8 and data["stats_requests"] >= 30
    assert data["control_failures"] == []
    assert len(data["samples"]) >= 20
    assert "| RSS growth | ok |" in (tmp_path / "s.md").read_text()


@pytest.mark.slow
def test_a_minute_of_soak_holds_the_invariants_loosely() -> None:
    stylizer, pack = build_stylizer("alpha", EngineOptions(runtime="torch"))
    source = open_source("test", size=(160, 90), fps=30, live=True)
    # Loose bounds: a tiny network on a shared, loaded machine is noisy in a minute.
    options = SoakOptions(minutes=1.0, warmup_s=15.0, sample_every_s=1.0, window=8,
                          max_rss_growth=0.10, max_p95_change=0.5, p95_slack_ms=25.0)
    report = run_soak(source, stylizer, pack, options)
    assert report.ok, report.summary()
    assert report.style_changes >= 25 and report.stats_requests >= 200
    assert "error" not in report.events
