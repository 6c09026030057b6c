"""Pictures on disk: writing one image, preparing its folder, and the image-sequence sink.

An image is encoded in memory by OpenCV and its bytes written by Python through the one
atomic-write helper, rather than with ``cv2.imwrite``: imwrite answers every failure with a
bare False, while Python's OSError names the real cause (permission denied, no space left,
not a directory), and the atomic write never leaves half a picture behind on Ctrl-C.
"""

from __future__ import annotations

import os
import tempfile
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from stylecast.errors import SinkError, first_line
from stylecast.fileio import write_atomically
from stylecast.outputs.base import Sink
from stylecast.outputs.encoding import check_frame_size
from stylecast.pipeline.frames import Frame, check_rgb, is_sequence_pattern

#: The picture formats stylecast reads and writes, by file extension.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
_FORMATS_TEXT = ".png, .jpg, .webp, .bmp or .tiff"
# OpenCV's WebP default is lossless, several times the size of a photo's JPEG; 92 keeps
# brush strokes intact. JPEG at 95 is OpenCV's default, stated so the two sit together.
_ENCODE_PARAMS = {
    ".jpg": [cv2.IMWRITE_JPEG_QUALITY, 95],
    ".jpeg": [cv2.IMWRITE_JPEG_QUALITY, 95],
    ".webp": [cv2.IMWRITE_WEBP_QUALITY, 92],
}


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """True when the name ends in a picture extension stylecast reads and writes."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def check_image_name(path: str | os.PathLike[str]) -> None:
    """Raise SinkError unless ``path``'s extension names a format stylecast writes."""
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_SUFFIXES or not cv2.haveImageWriter(f"x{suffix}"):
        kind = f"unknown image type {suffix!r}" if suffix else "no image extension"
        raise SinkError(f"cannot write {path}: {kind}; end the name in {_FORMATS_TEXT}")


def prepare_folder(folder: Path) -> None:
    """Create ``folder`` if missing and prove it takes a file, so a render fails before it
    paints anything rather than at its first write. Raises SinkError with the OS's reason."""
    blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()),
                   None)
    if blocker is not None:  # mkdir would say "File exists" or "Not a directory"
        raise SinkError(f"cannot write into the folder {folder}: {blocker} is a file, not a "
                        "folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".stylecast-", suffix=".probe", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise SinkError(f"cannot write into the folder {folder} ({first_line(exc)}): choose a "
                        "folder you can write to") from exc


def write_image(path: Path, rgb: np.ndarray) -> None:
    """Write (H, W, 3) uint8 RGB to ``path`` in the format its extension names.

    Raises:
        SinkError: unknown extension, or the OS refused the write; the message names the
            OS's reason (e.g. "No space left on device").
    """
    check_image_name(path)
    bgr = cv2.cvtColor(check_rgb(rgb), cv2.COLOR_RGB2BGR)
    suffix = path.suffix.lower()
    try:
        ok, encoded = cv2.imencode(suffix, bgr, _ENCODE_PARAMS.get(suffix, []))
    except cv2.error as exc:
        raise SinkError(f"cannot encode {path} ({first_line(exc)})") from exc
    if not ok:
        raise SinkError(f"cannot encode {path}: OpenCV has no {suffix} encoder; use "
                        f"{_FORMATS_TEXT}")
    try:
        write_atomically(path, [encoded.tobytes()])
    except OSError as exc:
        raise SinkError(f"cannot write {path} ({first_line(exc)}): check the path, the free "
                        "space and that the folder is writable") from exc


class ImageSequenceSink(Sink):
    """Write each frame as an image named by its index: ``out/%05d.png`` -> out/00042.png.

    Args:
        pattern: path with one printf integer directive; the extension picks the image
            format (png, jpg, webp, bmp, tiff); missing folders are created.
    """

    name = "images"

    def __init__(self, pattern: str | os.PathLike[str]) -> None:
        self.pattern = os.fspath(pattern)
        if not is_sequence_pattern(self.pattern):
            raise SinkError(f"{self.pattern!r} is not an image sequence pattern: use one %d "
                            "directive, e.g. out/%05d.png")
        self._size: tuple[int, int] | None = None
        self._closed = False
        self.frames_written = 0

    def open(self, *, width: int, height: int, fps: Fraction) -> None:
        """Check the image format and create the folder; raises SinkError."""
        sample = Path(self.pattern % 0)
        check_image_name(sample)
        prepare_folder(sample.parent)
        self._size = (width, height)

    def send(self, frame: Frame) -> None:
        """Write one (H, W, 3) uint8 RGB frame to ``pattern % frame.index``."""
        if self._size is None or self._closed:
            raise SinkError(f"image sequence {self.pattern} is not open: open() it first")
        check_frame_size(frame, self._size, f"image sequence {self.pattern}")
        write_image(Path(self.pattern % frame.index), frame.data)
        self.frames_written += 1

    def close(self) -> None:
        """Nothing is buffered; idempotent."""
        self._closed = True
