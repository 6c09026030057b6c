"""``stylecast render`` with pictures: one picture to one, a folder to a folder, and one
line naming the cause for every output it cannot write."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from stylecast.cli import main
from tests.media import moving_frame

pytestmark = pytest.mark.usefixtures("styles_env")
ENGINE = ["--runtime", "torch", "--style", "alpha"]


def _save(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)
    return path


def _read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _painted(before: np.ndarray, after: np.ndarray) -> None:
    assert after.shape == before.shape
    assert np.abs(after.astype(int) - before).mean() > 10, "looks like the input: not painted"


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp"])
def test_one_picture_to_one_picture(tmp_path: Path, suffix: str,
                                    capsys: pytest.CaptureFixture[str],
                                    caplog: pytest.LogCaptureFixture) -> None:
    photo = _save(tmp_path / f"photo{suffix}", moving_frame(2, 90, 62))  # not multiples of 4
    out = tmp_path / f"painted{suffix}"
    caplog.set_level(logging.INFO, logger="stylecast")
    assert main(["render", str(photo), "-o", str(out), *ENGINE]) == 0
    _painted(_read(photo), _read(out))
    assert f"wrote 1 picture to {out}" in capsys.readouterr().err
    # The one line that says what runs where (absent below, where -o is refused first).
    assert [r for r in caplog.records if r.name == "stylecast.engine.build"]


def test_another_format_and_a_folder_as_output(tmp_path: Path) -> None:
    photo = _save(tmp_path / "photo.jpg", moving_frame(1, 64, 48))
    assert main(["render", str(photo), "-o", str(tmp_path / "out.png"), *ENGINE]) == 0
    assert main(["render", str(photo), "-o", str(tmp_path / "new") + "/", *ENGINE]) == 0
    for out in (tmp_path / "out.png", tmp_path / "new" / "photo.jpg"):
        _painted(_read(photo), _read(out))


def test_a_portrait_photo_comes_out_upright(tmp_path: Path) -> None:
    """EXIF orientation 6 (the camera was turned): 80x40 pixels stored, shown 40 wide."""
    image = Image.fromarray(moving_frame(0, 80, 40))
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(tmp_path / "portrait.jpg", exif=exif)
    assert main(["render", str(tmp_path / "portrait.jpg"), "-o", str(tmp_path / "out.png"),
                 *ENGINE]) == 0
    assert _read(tmp_path / "out.png").shape == (80, 40, 3)


def test_size_scales_the_picture(tmp_path: Path) -> None:
    photo = _save(tmp_path / "photo.png", moving_frame(0, 96, 64))
    assert main(["render", str(photo), "-o", str(tmp_path / "out.png"), "--size", "48x32",
                 *ENGINE]) == 0
    assert _read(tmp_path / "out.png").shape == (32, 48, 3)


def test_folder_to_folder_keeps_names_and_sizes(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    sizes = {"a.png": (64, 48), "b.jpg": (90, 62), "c.webp": (48, 64)}
    for name, (width, height) in sizes.items():
        _save(tmp_path / "photos" / name, moving_frame(len(name), width, height))
    (tmp_path / "photos" / "notes.txt").write_text("not a picture")
    assert main(["render", str(tmp_path / "photos"), "-o", str(tmp_path / "painted"),
                 *ENGINE]) == 0
    assert sorted(p.name for p in (tmp_path / "painted").iterdir()) == sorted(sizes)
    for name in sizes:
        _painted(_read(tmp_path / "photos" / name), _read(tmp_path / "painted" / name))
    assert "wrote 3 pictures" in capsys.readouterr().err


def test_a_damaged_picture_in_a_folder_is_one_line_and_the_rest_are_painted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:
    _save(tmp_path / "photos" / "good.png", moving_frame(0, 64, 48))
    (tmp_path / "photos" / "broken.jpg").write_bytes(b"not a jpeg")
    code = main(["render", str(tmp_path / "photos"), "-o", str(tmp_path / "painted"), *ENGINE])
    err = capsys.readouterr().err
    assert code == 1
    assert (tmp_path / "painted" / "good.png").is_file()
    assert not (tmp_path / "painted" / "broken.jpg").exists()
    # In-process the log line goes to pytest's handler rather than stderr.
    logged = [r.getMessage() for r in caplog.records if "broken.jpg" in r.getMessage()]
    assert len(logged) == 1 and "not a picture" in logged[0]
    assert "1 of 2 pictures could not be painted" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("source, output, cause", [
    ("photo.png", "painted.xyz", "unknown image type '.xyz'"),
    ("photo.png", "painted", "no image extension"),
    ("photo.png", "painted.mp4", "unknown image type '.mp4'"),
    ("photo.png", "photo.png/x.png", "photo.png is a file, not a folder"),
    ("photo.png", "photo.png", "would replace the original"),
    ("missing.png", "x.png", "no picture at"),
    ("photos", "slides.mp4", "give -o a folder"),
    ("photos", "one.png", "give -o a folder"),
    ("photos", "photo.png", "is a file"),
    ("photos", "photos", "would replace the original"),
    ("empty", "out", "no pictures in"),
    ("clip.mp4", "frame.png", "single picture"),
])
def test_an_output_it_cannot_write_is_one_line_naming_the_cause(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
    source: str, output: str, cause: str,
) -> None:
    from tests.media import write_clip

    _save(tmp_path / "photo.png", moving_frame(0, 64, 48))
    _save(tmp_path / "photos" / "a.png", moving_frame(0, 64, 48))
    (tmp_path / "empty").mkdir()
    write_clip(tmp_path / "clip.mp4", frames=2, width=64, height=48)
    caplog.set_level(logging.INFO, logger="stylecast")
    code = main(["render", str(tmp_path / source), "-o", str(tmp_path / output), *ENGINE])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("stylecast: error: ")
    assert cause in err[0]
    # Refused before a network was loaded (a first run's ONNX export takes seconds).
    assert not [r for r in caplog.records if r.name == "stylecast.engine.build"]


def test_a_picture_is_never_written_half(tmp_path: Path) -> None:
    """No temporary file is left beside the painting."""
    photo = _save(tmp_path / "photo.png", moving_frame(0, 64, 48))
    assert main(["render", str(photo), "-o", str(tmp_path / "out" / "p.png"), *ENGINE]) == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["p.png"]
    assert cv2.imread(str(tmp_path / "out" / "p.png")) is not None


def test_test_stays_the_test_pattern_beside_a_test_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _save(tmp_path / "test" / "a.png", moving_frame(0, 64, 48))
    monkeypatch.chdir(tmp_path)
    assert main(["render", "test", "-o", "out.mp4", "--frames", "2", "--size", "64x48",
                 *ENGINE]) == 0
    assert (tmp_path / "out.mp4").stat().st_size > 0
    assert not (tmp_path / "out.mp4").is_dir()
