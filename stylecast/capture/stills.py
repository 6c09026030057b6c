"""Reading still pictures: one photo, or every picture in a folder.

Photos are read with OpenCV rather than through FFmpeg like video: OpenCV applies the EXIF
orientation (a phone's portrait shot comes out upright, where FFmpeg's image2 demuxer
returns it sideways) and folds 16-bit and alpha pictures down to 8-bit RGB.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from stylecast.errors import CaptureError
from stylecast.outputs.images import IMAGE_SUFFIXES, is_image_path


def read_image(path: Path) -> np.ndarray:
    """The picture at ``path`` as (H, W, 3) uint8 RGB, EXIF orientation applied.

    Raises:
        CaptureError: the file cannot be read (with the OS's reason) or is not a picture
            OpenCV decodes.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaptureError(f"cannot read {path} ({exc.strerror or exc}): check the path "
                           "and its permissions") from exc
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise CaptureError(f"{path} is not a picture OpenCV can read (png, jpg, webp, bmp, "
                           "tiff): is the file damaged, or another format renamed?")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def list_images(folder: Path) -> list[Path]:
    """The pictures directly in ``folder`` (by extension, not hidden), sorted by name.

    Raises:
        CaptureError: the folder cannot be listed, or holds no pictures.
    """
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise CaptureError(f"cannot list the folder {folder} ({exc.strerror or exc})") from exc
    # Hidden files are skipped: macOS's "._photo.jpg" companions are not pictures.
    images = [entry for entry in entries
              if entry.is_file() and is_image_path(entry) and not entry.name.startswith(".")]
    if not images:
        raise CaptureError(f"no pictures in {folder}: stylecast reads files ending in "
                           f"{', '.join(IMAGE_SUFFIXES)}")
    return images
