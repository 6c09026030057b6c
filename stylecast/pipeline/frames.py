"""Frames and their timing.

A Frame carries its own clock: presentation timestamp (``pts`` in ``time_base`` units, as
PyAV gives it), the monotonic time it was captured and the time it was stylized, so latency
is measured per frame rather than guessed from queue sizes. Frames are values: a stage that
changes one returns a new Frame.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from fractions import Fraction

import numpy as np


@dataclass(frozen=True, slots=True)
class Frame:
    """One video frame.

    Attributes:
        data: (H, W, 3) uint8 RGB, C-contiguous.
        index: 0-based position in the source.
        pts: presentation timestamp in ``time_base`` units, or None if the source has none.
        time_base: seconds per pts unit.
        t_capture: ``time.monotonic()`` when the frame left the capture device or decoder.
        t_stylized: ``time.monotonic()`` when the stylize stage finished with it, or None.
        fill: made by the pipeline while the source was silent (the last frame held, or
            the "no signal" card), not captured: kept out of latency statistics.
    """

    data: np.ndarray
    index: int
    pts: int | None = None
    time_base: Fraction | None = None
    t_capture: float = field(default_factory=time.monotonic)
    t_stylized: float | None = None
    fill: bool = False

    @property
    def height(self) -> int:
        return int(self.data.shape[0])

    @property
    def width(self) -> int:
        return int(self.data.shape[1])

    @property
    def seconds(self) -> float | None:
        """Presentation time in seconds, if known."""
        if self.pts is None or self.time_base is None:
            return None
        return float(self.pts * self.time_base)

    def with_data(self, data: np.ndarray) -> Frame:
        """The same frame (timing, index) carrying new pixels."""
        return replace(self, data=data)

    def stylized_now(self) -> Frame:
        """The same frame, stamped as stylized at this moment."""
        return replace(self, t_stylized=time.monotonic())


def check_rgb(data: np.ndarray) -> np.ndarray:
    """Validate (H, W, 3) uint8 and return a C-contiguous view or copy."""
    if data.dtype != np.uint8 or data.ndim != 3 or data.shape[2] != 3:
        raise ValueError(f"expected (H, W, 3) uint8 RGB, got {data.shape} {data.dtype}")
    return np.ascontiguousarray(data)


def parse_size(text: str) -> tuple[int, int]:
    """'1280x720' -> (1280, 720); raises ValueError with the reason."""
    try:
        w_text, h_text = text.lower().split("x")
        width, height = int(w_text), int(h_text)
    except ValueError as exc:
        raise ValueError(f"size {text!r} is not WIDTHxHEIGHT, e.g. 1280x720") from exc
    if not (16 <= width <= 7680 and 16 <= height <= 4320):
        raise ValueError(f"size {text!r} is outside 16x16 .. 7680x4320")
    if width % 2 or height % 2:
        raise ValueError(f"size {text!r} must have even width and height (video encoders "
                         "and virtual cameras need it)")
    return width, height


# A printf integer directive such as %d or %05d: what FFmpeg's image2 muxer/demuxer expands.
_SEQUENCE_DIRECTIVE = re.compile(r"%0?\d*d")


def is_sequence_pattern(path: str) -> bool:
    """True for an image-sequence pattern like ``frames/%05d.png`` (exactly one %d)."""
    return len(_SEQUENCE_DIRECTIVE.findall(path.replace("%%", ""))) == 1
