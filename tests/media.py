"""Media made at test time with PyAV (nothing committed, nothing from ../shared)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def moving_frame(i: int, width: int, height: int) -> np.ndarray:
    """(H, W, 3) uint8: a gradient with a bright square that moves 2 px per frame."""
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.stack([xx * 255 // max(width - 1, 1), yy * 255 // max(height - 1, 1),
                    np.full_like(xx, 90)], -1).astype(np.uint8)
    x0 = (4 + 2 * i) % max(width - 16, 1)
    img[height // 3: height // 3 + 12, x0: x0 + 12] = (250, 240, 220)
    return img


def write_clip(path: Path, frames: int = 12, width: int = 96, height: int = 64,
               fps: int = 24, start_pts: int = 0) -> list[float]:
    """Encode a short clip with exact timestamps; returns each frame's time in seconds."""
    times = []
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.options = {"crf": "10", "preset": "ultrafast"}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(moving_frame(i, width, height), format="rgb24")
            frame.pts = start_pts + i
            frame.time_base = Fraction(1, fps)
            times.append(float((start_pts + i) / fps))
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return times


def read_clip(path: Path) -> tuple[list[np.ndarray], list[float]]:
    """Every frame as RGB and its presentation time in seconds."""
    frames, times = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            times.append(float(frame.pts * frame.time_base))
    return frames, times
