"""``stylecast build-engine`` and how TensorRT's absence shows in the CLI (no TensorRT here)."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import torch

from stylecast.cli import doctor as cli_info
from stylecast.cli import main
from stylecast.runtime.tensorrt import runtime as tensorrt_runtime
from stylecast.runtime.tensorrt.plan import ShapeProfile

pytestmark = pytest.mark.usefixtures("styles_env")


def _errors(err: str) -> list[str]:
    assert "Traceback" not in err
    return [line for line in err.strip().splitlines() if line]


def _no_tensorrt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # import tensorrt raises ImportError


def _fake_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", types.SimpleNamespace(__version__="10.3.0"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Fake GPU")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 9))


def test_without_tensorrt_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _no_tensorrt(monkeypatch)
    assert main(["build-engine", "alpha", "--sizes", "1280x720"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert _errors(err) == [
        "stylecast: error: TensorRT is not installed (import of tensorrt halted; None in "
        "sys.modules): pip install 'stylecast[tensorrt]' on a machine with an NVIDIA GPU"]


def test_tensorrt_without_gpu_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", types.SimpleNamespace(__version__="10.3.0"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["build-engine", "alpha"]) == 1
    errors = _errors(capsys.readouterr().err)
    assert len(errors) == 1
    assert errors[0].startswith("stylecast: error: TensorRT 10.3.0 is installed but there is "
                                "no usable NVIDIA GPU")


def test_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["build-engine", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "PACK_OR_STYLE" in out and "examples:" in out
    assert "stylecast build-engine starry-night --sizes 1920x1080,1280x720,3840x2160" in out
    for flag in ("--sizes", "--opt", "--precision", "--temporal", "--no-temporal",
                 "--workspace-gb", "--force"):
        assert flag in out


@pytest.mark.parametrize("argv, message", [
    (["--sizes", "1280by720"], "is not WIDTHxHEIGHT"),
    (["--sizes", ","], "at least one size"),
    (["--precision", "bf16"], "invalid choice: 'bf16'"),
    (["--workspace-gb", "0"], "must be above 0"),
])
def test_bad_arguments_are_refused_by_the_parser(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["build-engine", "alpha", *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_builds_each_graph_and_prints_where(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _fake_gpu(monkeypatch)
    calls: list[dict[str, Any]] = []

    def fake_build(network: Any, **kwargs: Any) -> tuple[Path, bool]:
        calls.append(kwargs)
        name = "temporal" if kwargs["temporal"] else "frame"
        return tmp_path / f"{name}.engine", kwargs["temporal"]

    monkeypatch.setattr(tensorrt_runtime, "build_engine_file", fake_build)
    argv = ["build-engine", "testpack", "--sizes", "640x360,1920x1080,1920x1080", "--temporal",
            "--workspace-gb", "1.5", "--precision", "f32"]
    assert main(argv) == 0
    profile = ShapeProfile(min=(192, 108), opt=(1920, 1080), max=(1920, 1080))
    common = {"precision": "f32", "profile": profile, "workspace_bytes": 3 * 2**29,
              "force": False}
    assert calls == [{**common, "temporal": False}, {**common, "temporal": True}]
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "testpack/lite per-frame engine, f32, 192x108 .. 1920x1080, tuned for 1920x1080: "
        f"already cached (--force rebuilds it): {tmp_path / 'frame.engine'}",
        "testpack/lite temporal engine, f32, 192x108 .. 1920x1080, tuned for 1920x1080: "
        f"written: {tmp_path / 'temporal.engine'}",
    ]


def test_style_name_resolves_to_its_pack_and_opt_is_kept(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _fake_gpu(monkeypatch)
    calls: list[dict[str, Any]] = []

    def fake_build(network: Any, **kwargs: Any) -> tuple[Path, bool]:
        calls.append(kwargs)
        return tmp_path / "e.engine", True

    monkeypatch.setattr(tensorrt_runtime, "build_engine_file", fake_build)
    assert main(["build-engine", "beta", "--sizes", "640x360,1920x1080", "--opt", "1280x720",
                 "--force"]) == 0
    # Both engines by default: `run` uses the temporal cache unless told --no-temporal.
    assert [(c["profile"].opt, c["temporal"]) for c in calls] == [((1280, 720), False),
                                                                 ((1280, 720), True)]
    assert calls[0]["force"] is True and calls[0]["precision"] == "f16"
    out = capsys.readouterr().out
    assert "testpack/lite per-frame engine" in out and "testpack/lite temporal engine" in out
    calls.clear()
    assert main(["build-engine", "beta", "--sizes", "640x360", "--no-temporal"]) == 0
    assert [c["temporal"] for c in calls] == [False]


def test_unknown_pack_or_style_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_gpu(monkeypatch)
    assert main(["build-engine", "alpah"]) == 1
    errors = _errors(capsys.readouterr().err)
    assert len(errors) == 1 and "unknown style 'alpah'. Did you mean alpha?" in errors[0]


def test_opt_outside_sizes_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_gpu(monkeypatch)
    assert main(["build-engine", "alpha", "--sizes", "640x360", "--opt", "1280x720"]) == 1
    errors = _errors(capsys.readouterr().err)
    assert errors == ["stylecast: error: opt size 1280x720 is outside the sizes asked for "
                      "(192x108 .. 640x360); add it to --sizes"]


def test_doctor_reports_why_tensorrt_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _no_tensorrt(monkeypatch)
    quiet = cli_info.Check("x", "x", True, "skipped by the test")
    for name in ("_vcam_check", "_capture_check", "_obs_check"):
        monkeypatch.setattr(cli_info, name, lambda: quiet)
    assert main(["doctor", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    row = rows["tensorrt"]
    assert row["ok"] is False
    assert row["detail"].startswith("TensorRT is not installed")
    assert row["fix"] == "pip install 'stylecast[tensorrt]' on a machine with an NVIDIA GPU"


def test_explicit_tensorrt_runtime_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _no_tensorrt(monkeypatch)
    monkeypatch.chdir(tmp_path)
    code = main(["render", "test", "-o", "out.mp4", "--style", "alpha", "--runtime", "tensorrt"])
    errors = _errors(capsys.readouterr().err)
    assert code == 1
    assert [e for e in errors if e.startswith("stylecast: error")] == [
        "stylecast: error: TensorRT is not installed (import of tensorrt halted; None in "
        "sys.modules): pip install 'stylecast[tensorrt]' on a machine with an NVIDIA GPU"]
