"""The CLI as a user meets it: render round trip, live run to vcam + stream, bad input."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

from stylecast.cli import main
from tests.fakes import FakeCamera, free_port
from tests.fakes import fake_camera as fake_camera  # noqa: F401  (fixture)
from tests.media import read_clip, write_clip

pytestmark = pytest.mark.usefixtures("styles_env")
ENGINE = ["--runtime", "torch"]


def test_render_round_trip_keeps_count_size_and_timestamps(tmp_path: Path) -> None:
    clip = tmp_path / "in.mp4"
    times = write_clip(clip, frames=12, width=96, height=64, fps=24, start_pts=5)
    outs = {}
    for style in ("alpha", "beta"):
        out = tmp_path / f"{style}.mp4"
        assert main(["render", str(clip), "-o", str(out), "--style", style, *ENGINE]) == 0
        outs[style] = read_clip(out)
    raw, _ = read_clip(clip)
    frames, out_times = outs["alpha"]
    assert len(frames) == 12
    assert frames[0].shape == (64, 96, 3)
    assert out_times == pytest.approx(times, abs=1e-3)
    diff_raw = np.mean([np.abs(a.astype(int) - b).mean() for a, b in zip(frames, raw, strict=True)])
    diff_styles = np.mean([np.abs(a.astype(int) - b).mean()
                           for a, b in zip(frames, outs["beta"][0], strict=True)])
    assert diff_raw > 10, "output looks like the input: not stylized"
    assert diff_styles > 5, "two styles gave the same picture"


def test_render_image_sequence_in_and_out(tmp_path: Path) -> None:
    from PIL import Image

    from tests.media import moving_frame

    (tmp_path / "in").mkdir()
    for i in range(5):
        Image.fromarray(moving_frame(i, 64, 48)).save(tmp_path / "in" / f"{i:03d}.png")
    assert main(["render", str(tmp_path / "in" / "%03d.png"), "-o",
                 str(tmp_path / "out" / "%03d.png"), "--style", "gamma", *ENGINE]) == 0
    written = sorted((tmp_path / "out").glob("*.png"))
    assert len(written) == 5
    assert np.asarray(Image.open(written[0])).shape == (48, 64, 3)


def _read_stream(url: str, got: list[np.ndarray], stop: threading.Event) -> None:
    deadline = time.monotonic() + 10
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            with av.open(url, format="nut", timeout=5) as container:
                for frame in container.decode(video=0):
                    got.append(frame.to_ndarray(format="rgb24"))
            return
        except (OSError, av.FFmpegError):
            time.sleep(0.1)


@pytest.mark.slow
def test_run_feeds_a_virtual_camera_and_a_stream_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
    fake_camera: Callable[..., type[FakeCamera]],
) -> None:
    camera = fake_camera("RGB", name="stylecast-test")
    port = free_port()
    got: list[np.ndarray] = []
    stop = threading.Event()
    reader = threading.Thread(target=_read_stream, args=(f"tcp://127.0.0.1:{port}", got, stop))
    reader.start()
    code = main(["run", "--input", "test", "--size", "64x48", "--fps", "15", "--style", "beta",
                 "--vcam", "--vcam-backend", "stylecast-test", "--stream",
                 f"tcp://127.0.0.1:{port}", "--duration", "4", "--status-every", "1",
                 "--no-control", *ENGINE])
    stop.set()
    reader.join(10)
    assert code == 0
    err = capsys.readouterr().err
    final = [line for line in err.splitlines() if "fps | latency" in line][-1]
    frames_reported = int(re.search(r"frames (\d+)", final).group(1))
    vcam = [f.reshape(48, 64, 3) for f in camera.instances[0].frames]  # RGB negotiated
    assert len(vcam) >= 20 and frames_reported >= 20
    # Every stylized frame reached the camera; the stream reader joined a little late.
    assert abs(len(vcam) - frames_reported) <= 2
    assert 0.5 * frames_reported <= len(got) <= frames_reported + 1
    assert got[-1].shape == (48, 64, 3)
    # The stream carries the same pictures as the camera (up to H.264 loss).
    assert np.abs(got[-1].astype(int) - vcam[-1]).mean() < 25


@pytest.mark.parametrize("argv, message", [
    (["render", "missing.mp4", "-o", "out.mp4"], "missing.mp4"),
    (["render", "test", "-o", "out.mp4", "--style", "nope"], "unknown style 'nope'"),
    (["run", "--input", "/dev/video77", "--no-control", "--record", "x.mp4"], "/dev/video77"),
    (["run", "--input", "test", "--no-control", "--vcam", "--vcam-backend", "v4l2loopback"],
     "v4l2loopback"),
])
def test_bad_input_is_one_line_and_a_nonzero_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    argv: list[str], message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code = main([*argv, *ENGINE])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert message in err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("stylecast: error")]
    assert len(errors) == 1


def test_impossible_size_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--size", "99999x3"])
    assert exit_info.value.code == 2
    assert "outside" in capsys.readouterr().err


def test_styles_lists_title_artist_year(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["styles"]) == 0
    out = capsys.readouterr().out
    assert "alpha" in out and "Title 0" in out and "Artist 0" in out and "1900" in out
    assert main(["styles", "--json"]) == 0
    assert '"name": "beta"' in capsys.readouterr().out


def test_training_only_parser_has_train_and_evaluate_and_imports_no_media_stack() -> None:
    import subprocess
    import sys

    # A GPU machine with torch and little else (scripts/gpu_train.sh): no PyAV, no OpenVINO.
    code = ("import sys\n"
            "for m in ('av', 'openvino', 'pyvirtualcam', 'websockets'): sys.modules[m] = None\n"
            "from stylecast.cli import build_parser\n"
            "parser = build_parser(training_only=True)\n"
            "print(sorted(parser._subparsers._group_actions[0].choices))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['evaluate', 'train']"


def test_live_run_on_a_cpu_shrinks_the_network_input_unless_asked_not_to(
        caplog: pytest.LogCaptureFixture) -> None:
    import logging
    from types import SimpleNamespace

    from stylecast.engine.mixer import StyleMixer
    from stylecast.engine.size import CPU_LIVE_PIXELS
    from stylecast.engine.stylizer import Stylizer

    def stylizer(kind: str, process_size: tuple[int, int] | None = None) -> Stylizer:
        runtime = SimpleNamespace(device_kind=kind, supports_temporal=False)
        return Stylizer(runtime, StyleMixer(["a"], {"a": 1.0}),  # type: ignore[arg-type]  # a fake runtime
                        reference_width=640, process_size=process_size)

    cpu = stylizer("cpu")
    with caplog.at_level(logging.INFO, logger="stylecast.engine.stylizer"):
        assert cpu.go_live((1280, 720)) == (480, 268)
    assert cpu.live_pixels == CPU_LIVE_PIXELS
    assert cpu.network_size((1280, 720)) == (480, 268)
    assert "--process-size 1280x720 runs it at full size" in caplog.text
    asked = stylizer("cpu", process_size=(640, 360))
    asked.go_live((1280, 720))
    gpu = stylizer("cuda")
    gpu.go_live((1280, 720))
    assert asked.live_pixels is None and gpu.live_pixels is None
    assert gpu.network_size((1280, 720)) == (640, 360)  # the stroke scale's size


def test_train_refuses_a_resize_head_on_full_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    recipe = Path(__file__).parents[1] / "styles" / "classic" / "recipe.toml"
    code = main(["train", str(recipe), "--size", "full", "--head", "resize",
                 "--data", str(tmp_path), "--run-dir", str(tmp_path / "run"),
                 "--pack-dir", str(tmp_path / "pack")])
    err = capsys.readouterr().err
    assert code == 1
    assert "--head resize: the full network's decoder always upsamples" in err
    assert "Traceback" not in err
    assert not (tmp_path / "run").exists() and not (tmp_path / "pack").exists()
