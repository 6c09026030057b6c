"""Where the cache's region path runs the network: a crop around what the history cannot give.

On a frame the cache reuses (``TemporalConfig.reuse``), the last output carried by the flow
is right wherever the history is trusted. Where it is not (the background a moving object
uncovers, content entering at the frame's edge) the frame needs fresh stylization, and only
there. The network then runs on a crop of the frame around those cells, with the norm
statistics of the last whole frame (so the crop is normalised as the whole frame was) and a
margin of context on every side that is not the frame's own edge: with a 32-px margin the
shipped lite network's output inside the crop is within ~0.2 levels of the whole frame's on
held-out photos (exact from 64 px; docs/TEMPORAL.md).

Crop sides come in eighths of the frame's, so a runtime that prepares each size (OpenVINO)
meets a bounded set of crop sizes per frame size (``crop_sizes``: 50 at 480x268; a scene
uses a few at a time, a long show most of them), each prepared once in the background.
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


def crop_sizes(full_h: int, full_w: int, max_area: float) -> list[tuple[int, int]]:
    """Every (height, width) in cells that ``crops_for`` can give a crop on a ``full_h`` x
    ``full_w`` grid with this ``max_area``: sides in eighths, area within the limit."""
    heights = sorted({_side(n, full_h) for n in range(1, full_h + 1)})
    widths = sorted({_side(n, full_w) for n in range(1, full_w + 1)})
    limit = max_area * full_h * full_w
    return [(h, w) for h in heights for w in widths if h * w <= limit]


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
    A diagonal pan brings content in along two sides at once, an L whose one box is the
    whole frame; when the groups' crops would be too many or too large, the cells near each
    side are tried as strips of their own. The groups come first, so every frame the
    grouping alone could cover is covered as before (their crops are also the larger ones,
    and more of the partly trusted cells around what moved take fresh features there).

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
    for cover in (_grouped(untrusted, margin), _edge_strips(untrusted, margin)):
        if (cover is not None and len(cover) <= max_crops
                and _area(cover, full_h, full_w) <= max_area * full_h * full_w):
            return [_crop(box, full_h, full_w, margin) for box in cover]
    return None


_Box = tuple[int, int, int, int]  # left, top, width, height: untrusted cells and margin


def _grouped(untrusted: np.ndarray, margin: int) -> list[_Box]:
    """One box per group of untrusted cells closer than twice the margin."""
    side = 2 * margin + 1
    # Each untrusted cell with its margin around it; the groups' boxes are then the regions
    # the network must see, already clipped to the frame.
    reach = cv2.dilate(untrusted, np.ones((side, side), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(reach, connectivity=8)
    return [(int(x), int(y), int(w), int(h)) for x, y, w, h, _ in stats[1:count]]


def _edge_strips(untrusted: np.ndarray, margin: int) -> list[_Box] | None:
    """The cells within ``margin`` of each side as one strip per side (the side with most
    of them first, so it takes the corners), the rest grouped; None when no cell is near
    a side (the grouping alone covers that)."""
    full_h, full_w = untrusted.shape
    remaining = untrusted.copy()
    bands = {"top": (slice(0, margin), slice(None)),
             "bottom": (slice(full_h - margin, full_h), slice(None)),
             "left": (slice(None), slice(0, margin)),
             "right": (slice(None), slice(full_w - margin, full_w))}
    order = sorted(bands, key=lambda side: -int(np.count_nonzero(untrusted[bands[side]])))
    strips = []
    for side in order:
        band = np.zeros_like(untrusted)
        band[bands[side]] = remaining[bands[side]]
        if not band.any():
            continue
        remaining[bands[side]] = 0
        x, y, w, h = cv2.boundingRect(band)
        # The strip's cells with the margin around them, clipped to the frame.
        x0, y0 = max(x - margin, 0), max(y - margin, 0)
        x1, y1 = min(x + w + margin, full_w), min(y + h + margin, full_h)
        strips.append((x0, y0, x1 - x0, y1 - y0))
    if not strips:
        return None
    return strips + _grouped(remaining, margin)


def _area(boxes: list[_Box], full_h: int, full_w: int) -> int:
    """Total area of the crops the boxes get (sides rounded up to eighths)."""
    return sum(_side(h, full_h) * _side(w, full_w) for _, _, w, h in boxes)


def _crop(box: _Box, full_h: int, full_w: int, margin: int) -> Crop:
    left, top, width, height = box
    y0, h, in_top, in_bottom = _place(top, top + height, full_h, margin)
    x0, w, in_left, in_right = _place(left, left + width, full_w, margin)
    return Crop(top=y0, left=x0, height=h, width=w,
                inner=(in_top, in_left, in_bottom, in_right))


def untrusted_cells(confidence: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """uint8 mask, 255 where ``confidence`` (h, w) float32 is below ``threshold``."""
    return cv2.compare(confidence, threshold, cv2.CMP_LT)
