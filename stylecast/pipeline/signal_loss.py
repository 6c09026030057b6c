"""What the outputs show while the capture source delivers nothing.

A viewer (a call, a stream) must never see the output freeze or vanish because a camera was
unplugged or a network feed paused: the sinks keep receiving frames at the source's rate.
For a moment the last stylized frame is held (a short hiccup goes unnoticed); after that a
dark "no signal" card says what is happening.
"""

from __future__ import annotations

import enum
import time

import cv2
import numpy as np

from stylecast.pipeline.frames import Frame

NO_SIGNAL_TEXT = "stylecast - no signal, reconnecting..."
HOLD_S = 1.0  # "auto" holds the last frame this long, then shows the card


class NoSignal(enum.Enum):
    """What fills the outputs during a capture outage."""

    AUTO = "auto"  # hold the last frame for HOLD_S, then the card
    HOLD = "hold"  # hold the last frame for the whole outage
    CARD = "card"  # the card at once


def no_signal_card(width: int, height: int, text: str = NO_SIGNAL_TEXT) -> np.ndarray:
    """A dark frame with ``text`` centred on it.

    Returns:
        (height, width, 3) uint8 RGB, C-contiguous. The text is scaled to fit the width;
        OpenCV's Hershey fonts are ASCII only, hence the plain hyphen and dots.
    """
    card = np.full((height, width, 3), 16, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    (text_w, text_h), _ = cv2.getTextSize(text, font, 1.0, 2)
    scale = max(0.2, min(1.5, 0.9 * width / max(text_w, 1)))
    thickness = max(1, round(2 * scale))
    (text_w, text_h), _ = cv2.getTextSize(text, font, scale, thickness)
    origin = ((width - text_w) // 2, (height + text_h) // 2)
    cv2.putText(card, text, origin, font, scale, (200, 200, 200), thickness, cv2.LINE_AA)
    return card


class Filler:
    """Makes the frames the sinks get during one outage.

    Args:
        mode: a NoSignal value.
        size: (width, height) of the outputs.
        hold_s: how long AUTO holds the last frame before the card.
    """

    def __init__(self, mode: NoSignal, size: tuple[int, int], hold_s: float = HOLD_S) -> None:
        self.mode = mode
        self.hold_s = hold_s
        self._card = no_signal_card(*size)
        self._index = 0

    def frame(self, held: Frame | None, lost_for: float) -> Frame:
        """The next fill frame, ``lost_for`` seconds into the outage."""
        hold = self.mode is NoSignal.HOLD or (self.mode is NoSignal.AUTO
                                               and lost_for < self.hold_s)
        data = held.data if hold and held is not None else self._card
        self._index += 1
        # No pts: sinks give fill frames the next tick of their own clock.
        return Frame(data=data, index=self._index, t_capture=time.monotonic(), fill=True)
