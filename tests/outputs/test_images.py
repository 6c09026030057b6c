"""Writing pictures: formats round-trip, and every failure names its real cause."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest

from stylecast.errors import SinkError
from stylecast.outputs.images import prepare_folder, write_image
from stylecast.outputs.record import open_file_output
from tests.media import moving_frame

PICTURE = moving_frame(3, 70, 50)  # odd-ish size, not a multiple of 4 or 8


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, f"{path} does not decode"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("suffix, tolerance", [
    (".png", 0.0), (".jpg", 4.0), (".jpeg", 4.0), (".webp", 4.0), (".bmp", 0.0), (".tiff", 0.0),
])
def test_each_format_round_trips(tmp_path: Path, suffix: str, tolerance: float) -> None:
    path = tmp_path / "new" / f"painted{suffix}"  # the folder does not exist yet
    write_image(path, PICTURE)
    back = _read_rgb(path)
    assert back.shape == PICTURE.shape
    assert np.abs(back.astype(int) - PICTURE).mean() <= tolerance
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_written_picture_gets_ordinary_permissions(tmp_path: Path) -> None:
    """Not the 0600 of a temporary file: the user's umask decides, as for any file."""
    old = os.umask(0o022)
    try:
        write_image(tmp_path / "painted.png", PICTURE)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "painted.png").stat().st_mode) == 0o644


@pytest.mark.parametrize("name, message", [
    ("painted.xyz", "unknown image type '.xyz'"),
    ("painted", "no image extension"),
])
def test_unknown_extensions_are_named(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(SinkError, match=message) as info:
        write_image(tmp_path / name, PICTURE)
    assert ".png, .jpg, .webp" in str(info.value)
    assert not (tmp_path / name).exists()


def test_a_file_in_the_way_of_the_folder_is_named(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_bytes(b"x")
    with pytest.raises(SinkError, match=r"photo\.jpg is a file, not a folder"):
        prepare_folder(tmp_path / "photo.jpg" / "sub")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs POSIX permissions and a non-root user (root writes anyway)")
def test_permission_denied_is_named(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(SinkError, match="Permission denied"):
            prepare_folder(locked)
        with pytest.raises(SinkError, match="Permission denied"):
            write_image(locked / "painted.png", PICTURE)
    finally:
        locked.chmod(0o755)


def test_a_full_disk_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(path: Path, chunks: list[bytes]) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr("stylecast.outputs.images.write_atomically", full)
    with pytest.raises(SinkError, match=os.strerror(errno.ENOSPC)) as info:
        write_image(tmp_path / "painted.jpg", PICTURE)
    assert "painted.jpg" in str(info.value)


def test_a_video_output_refuses_a_single_picture_name(tmp_path: Path) -> None:
    """FFmpeg would take painted.png and fail at the first frame with 'Invalid argument'."""
    with pytest.raises(SinkError, match="single picture") as info:
        open_file_output(tmp_path / "painted.png")
    assert "%05d.png" in str(info.value) and ".mp4" in str(info.value)
