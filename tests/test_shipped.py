"""Shipped files (style packs, OBS script) are found in a wheel and in a checkout, and
``doctor`` says where the OBS script is and which runtime ``auto`` picks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stylecast import shipped
from stylecast.cli import doctor as cli_info
from stylecast.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _package_at(monkeypatch: pytest.MonkeyPatch, package: Path) -> None:
    package.mkdir(parents=True)
    monkeypatch.setattr(shipped, "_PACKAGE", package)


def test_a_wheel_uses_its_package_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site-packages"
    _package_at(monkeypatch, site / "stylecast")
    (site / "stylecast" / "_styles").mkdir()
    (site / "stylecast" / "_obs").mkdir()
    (site / "styles").mkdir()  # another distribution's folder: not ours
    assert shipped.styles_dir() == site / "stylecast" / "_styles"
    assert shipped.obs_script() == site / "stylecast" / "_obs" / "stylecast_source.lua"


def test_a_folder_named_styles_beside_a_wheel_is_not_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site-packages"
    _package_at(monkeypatch, site / "stylecast")
    (site / "styles").mkdir()
    assert shipped.styles_dir() == site / "stylecast" / "_styles"  # missing: reported as such


def test_a_checkout_uses_its_top_level_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    _package_at(monkeypatch, repo / "stylecast")
    (repo / "pyproject.toml").write_text("[project]\n")
    (repo / "styles").mkdir()
    (repo / "obs").mkdir()
    assert shipped.styles_dir() == repo / "styles"
    assert shipped.obs_script() == repo / "obs" / "stylecast_source.lua"


def test_this_install_finds_the_real_files() -> None:
    assert (shipped.styles_dir() / "classic" / "manifest.toml").is_file()
    assert shipped.obs_script().is_file()


def _doctor_rows(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                 runtimes: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    quiet = cli_info.Check("x", "x", True, "skipped by the test")
    for name in ("_vcam_check", "_capture_check", "_obs_check"):
        monkeypatch.setattr(cli_info, name, lambda: quiet)
    monkeypatch.setattr("stylecast.runtime.describe_runtimes", lambda: runtimes)
    assert main(["doctor", "--json"]) == 0
    return {row["name"]: row for row in json.loads(capsys.readouterr().out)}


def _row(name: str, available: bool) -> dict[str, object]:
    return {"name": name, "available": available, "precisions": ["f32"] if available else [],
            "device": "cpu", "reason": "" if available else f"no {name} here", "fix": ""}


def test_doctor_shows_the_obs_script_path(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _doctor_rows(monkeypatch, capsys, [_row("torch", True)])
    assert rows["script"]["ok"] is True
    assert str(rows["script"]["detail"]).endswith(str(shipped.obs_script()))
    assert "Tools > Scripts" in str(rows["script"]["detail"])


def test_doctor_says_which_runtime_auto_picks_and_what_it_passes_over(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runtimes = [_row("tensorrt", False), _row("torch-cuda", False), _row("openvino", True)]
    rows = _doctor_rows(monkeypatch, capsys, runtimes)
    assert rows["auto"] == {"area": "runtime", "name": "auto", "ok": True, "fix": "",
                            "detail": "picks openvino; passes over tensorrt, torch-cuda (above)"}


def test_doctor_says_when_no_runtime_is_left(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _doctor_rows(monkeypatch, capsys, [_row("openvino", False)])
    assert rows["auto"]["ok"] is False and rows["auto"]["fix"]
