"""Where the cache's region path runs the network: a crop around what the history cannot give.

On a frame the cache reuses (``TemporalConfig.reuse``), the last output carried by the flow
is right wherever the history is trusted. Where it is not (the background a moving object
uncovers, content entering at the frame's edge) the frame needs fresh stylization, and only
there. The network then runs on a crop of the frame around those cells, with the norm
statistics of the last whole frame (so the crop is normalised as the whole frame was) and a
margin of context on every side that is not the frame's own edge: with a 32-px margin the
shipped lite network's output inside the crop is within ~0.2 levels of the whole frame's on
held-out photos (exact from 64 px; docs/TEMPORAL.md).

Crop sides come in eighths of the frame's, so a runtime that compiles per size (OpenVINO)
meets a bounded set of crop sizes per frame size (at most 63; a scene uses a few), each
compiled once in the background.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Crop:
    """A crop of the feature grid (cells; one cell is 4x4 pixels of the frame).

    Attributes:
        top, left, height, width: the crop the network runs on.
        inner: (top, left, bottom, right) of the part of the crop whose result is used:
            the crop less the margin on each side that is not the frame's edge.
    """

    top: int
    left: int
    height: int
    width: int
    inner: tuple[int, int, int, int]

    def cells(self) -> tuple[slice, slice]:
        """Row and column slices of the crop in the feature grid."""
        return slice(self.top, self.top + self.height), slice(self.left, self.left + self.width)

    def pixels(self, scale: int) -> tuple[slice, slice]:
        """Row and column slices of the crop on a grid ``scale`` times finer."""
        rows, cols = self.cells()
        return (slice(rows.start * scale, rows.stop * scale),
                slice(cols.start * scale, cols.stop * scale))

    def inner_in(self, scale: int) -> tuple[slice, slice]:
        """Row and column slices of ``inner`` on a grid ``scale`` times finer."""
        top, left, bottom, right = self.inner
        return slice(top * scale, bottom * scale), slice(left * scale, right * scale)

    def inner_in_crop(self, scale: int) -> tuple[slice, slice]:
        """``inner_in(scale)`` relative to the crop's own top-left corner."""
        rows, cols = self.inner_in(scale)
        return (slice(rows.start - self.top * scale, rows.stop - self.top * scale),
                slice(cols.start - self.left * scale, cols.stop - self.left * scale))


def _side(needed: int, full: int) -> int:
    """The smallest eighth of ``full`` (rounded up) that holds ``needed``; ``full`` at most."""
    for eighths in range(1, 8):
        side = math.ceil(full * eighths / 8)
        if side >= needed:
            return side
    return full


def _place(low: int, high: int, full: int, margin: int) -> tuple[int, int, int, int]:
    """Along one axis: a crop of a bucketed size holding [low, high), inside the frame and
    centred on it, as (start, side, inner start, inner stop)."""
    side = _side(high - low, full)
    start = min(max(low + (high - low - side) // 2, 0), full - side)
    inner_start = start + margin if start > 0 else 0
    inner_stop = start + side - margin if start + side < full else full
    return start, side, inner_start, inner_stop


def crops_for(untrusted: np.ndarray, margin: int, max_area: float,
              max_crops: int = 4) -> list[Crop] | None:
    """Crops that cover every untrusted cell with ``margin`` cells of context.

    Untrusted cells closer than twice the margin share a crop; each group gets its own (an
    object's uncovered edge and the strip a pan brings in at the frame's edge are two).

    Args:
        untrusted: (h, w) uint8 feature-grid mask, non-zero where the history is not trusted.
        margin: cells of context around the untrusted cells, except at the frame's edge.
        max_area: largest total crop area, as a fraction of the grid's; above it the frame
            is better run whole (the crops would save little).
        max_crops: most crops; more groups than this run the frame whole.

    Returns:
        The crops (none when no cell is untrusted), or None when the frame should run whole.
    """
    full_h, full_w = untrusted.shape
    side = 2 * margin + 1
    # Each untrusted cell with its margin around it; the groups' boxes are then the regions
    # the network must see, already clipped to the frame.
    reach = cv2.dilate(untrusted, np.ones((side, side), np.uint8))
    count, _, boxes, _ = cv2.connectedComponentsWithStats(reach, connectivity=8)
    if count - 1 > max_crops:
        return None
    crops, area = [], 0
    for left, top, width, height, _ in boxes[1:]:
        y0, h, in_top, in_bottom = _place(top, top + height, full_h, margin)
        x0, w, in_left, in_right = _place(left, left + width, full_w, margin)
        crops.append(Crop(top=y0, left=x0, height=h, width=w,
                          inner=(in_top, in_left, in_bottom, in_right)))
        area += h * w
    if area > max_area * full_h * full_w:
        return None
    return crops


def untrusted_cells(confidence: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """uint8 mask, 255 where ``confidence`` (h, w) float32 is below ``threshold``."""
    return cv2.compare(confidence, threshold, cv2.CMP_LT)
