"""Hostile input at the command line: corrupt media and an unsafe control bind."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import pytest

from stylecast.cli import main
from tests.media import moving_frame, write_clip

pytestmark = pytest.mark.usefixtures("styles_env")
ENGINE = ["--runtime", "torch", "--style", "alpha"]


def _faststart_clip(path: Path, frames: int = 48) -> None:
    """An mp4 whose index comes first, so a truncated copy still opens (the hard case)."""
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(moving_frame(i, 96, 64), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 24)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def _make(kind: str, folder: Path) -> Path:
    path = folder / f"{kind}.mp4"
    if kind == "zero-byte":
        path.write_bytes(b"")
    elif kind == "random-bytes":
        path.write_bytes(os.urandom(50_000))
    elif kind == "truncated":  # index at the end, which is cut off
        write_clip(folder / "whole.mp4", frames=30)
        data = (folder / "whole.mp4").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "truncated-faststart":  # index intact, media cut off
        _faststart_clip(folder / "whole.mp4")
        data = (folder / "whole.mp4").read_bytes()
        path.write_bytes(data[: int(len(data) * 0.6)])
    return path


KINDS = ["zero-byte", "random-bytes", "truncated", "truncated-faststart"]


def _one_line_error(code: int, err: str, name: str) -> None:
    assert code == 1, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("stylecast: error")]
    assert len(errors) == 1, err
    assert name in errors[0]


@pytest.mark.parametrize("kind", KINDS)
def test_corrupt_media_in_render_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str,
) -> None:
    clip = _make(kind, tmp_path)
    code = main(["render", str(clip), "-o", str(tmp_path / "out.mp4"), *ENGINE])
    _one_line_error(code, capsys.readouterr().err, clip.name)


@pytest.mark.parametrize("kind", KINDS)
def test_corrupt_media_in_run_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str,
) -> None:
    clip = _make(kind, tmp_path)
    code = main(["run", "--input", str(clip), "--record", str(tmp_path / "out.mp4"),
                 "--no-control", "--duration", "10", "--size", "96x64",
                 "--status-every", "0", *ENGINE])
    _one_line_error(code, capsys.readouterr().err, clip.name)


def test_control_on_all_interfaces_without_token_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("STYLECAST_CONTROL_TOKEN", raising=False)
    out = tmp_path / "out.mp4"
    code = main(["run", "--input", "test", "--record", str(out), "--control-host", "0.0.0.0",
                 "--control-port", "0", "--duration", "5", *ENGINE])
    err = capsys.readouterr().err
    _one_line_error(code, err, "0.0.0.0")
    assert "token" in err
    assert not out.exists(), "refused before opening anything"
