"""Confidence in the warped history, and the blend of the last output into the new one.

Confidence: the warped previous grey frame must match the current one (photometric check;
fails at most occlusions), the frame must not have been pulled open there (or, with
``consistency_check``, the forward and backward flows must agree), and the source must lie
inside the frame; the mask is eroded so object edges take fresh features (no trails).

Blend: the last output, warped at full resolution, is blended into the new one (in uint8)
by the confidence scaled by ``output_blend``, or by ``still_blend`` where the input has held
still since the pixel's anchor (``StillMask``).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from stylecast.temporal.config import TemporalConfig
from stylecast.temporal.motion import Motion, blurred


class Confidence:
    """How far the warped history is trusted, per flow pixel, in [0, 1]."""

    def __init__(self, config: TemporalConfig) -> None:
        self.config = config
        errors = np.arange(256, dtype=np.float32)
        self._photometric_ramp = np.clip(
            (config.photo_high - errors) / (config.photo_high - config.photo_low), 0.0, 1.0)
        self._erode_kernel = np.ones((config.erode, config.erode), np.uint8)

    def measure(self, gray: np.ndarray, prev: np.ndarray, backward: np.ndarray,
                map_xy: np.ndarray, forward: Callable[[], np.ndarray], *,
                smooth: np.ndarray | None = None,
                prev_smooth: np.ndarray | None = None) -> np.ndarray:
        """(h, w) float32 confidence of ``backward`` (whose sampling map is ``map_xy``).

        ``smooth`` and ``prev_smooth`` are the two grey frames blurred as in ``stylize``
        (blurred here when not given); the photometric check compares them when
        ``photo_smooth`` is on. ``forward`` computes the forward flow, asked for only with
        ``consistency_check``.
        """
        cfg = self.config
        h, w = gray.shape
        now, then = gray, prev
        if cfg.photo_smooth:
            # Blurred frames: a fractional-pixel resampling of a sharp edge no longer misses.
            now = blurred(gray) if smooth is None else smooth
            then = blurred(prev) if prev_smooth is None else prev_smooth
        warped = cv2.remap(then, map_xy, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        error = cv2.absdiff(now, warped)
        if not cfg.photo_smooth:
            error = cv2.blur(error, (3, 3))  # the raw check's grey-level error, box-blurred
        # Through the trust ramp as a lookup table.
        confidence = cv2.LUT(error, self._photometric_ramp)
        # Sources outside the frame have no history (inRange: 255 inside, 0 outside). Within
        # half a pixel of the outermost pixel centres the replicated border is the right
        # content; without that slack, a still scene's flow noise of a hundredth of a pixel
        # rejected whole rows and columns at the frame's edge.
        keep = cv2.inRange(map_xy, (-0.5, -0.5), (w - 0.5, h - 0.5))
        if cfg.consistency_check:
            keep &= consistent(forward(), backward, map_xy)
        else:
            keep &= pulled_open(backward, cfg.boundary)
        # Zero where not kept (a masked AND copies only the kept pixels' bytes).
        confidence = cv2.bitwise_and(confidence, confidence, mask=keep)
        # Erode so the edges of moving objects take fresh features: no trails behind them.
        return cv2.erode(confidence, self._erode_kernel)


def pulled_open(backward: np.ndarray, boundary: float) -> np.ndarray:
    """0 where the frame was pulled open, else 255.

    Where an object moves over its background, the side it uncovers has no true match,
    and one flow direction cannot tell it from a match; there the backward flow *falls*
    along the motion (background ~0, then the object's -d: d/dx of b_x is about -d over
    the edge), so the sampling map x + b(x) folds back on itself. Only that is
    rejected: a rising flow (the side where the object covers background, or a zoom
    in) and shear (an edge parallel to the motion) uncover nothing. Rejecting any steep
    gradient, as the first version did, also threw away history wherever the fast flow
    is noisy: kite-surf's warping-error ratio 0.62 with this test, 0.72 with that one,
    at 480x272, for the same trails.
    """
    limit = boundary * 8.0  # a 3x3 Sobel sums 8 differences
    # Across x only b_x is tested, down y only b_y; on split planes that is two
    # one-channel Sobels and one compare (0.08 ms at 240x136, half of filtering both
    # planes twice and bounding each result with inRange).
    bx, by = cv2.split(backward)
    falling = cv2.min(cv2.Sobel(bx, cv2.CV_32F, 1, 0, ksize=3),
                      cv2.Sobel(by, cv2.CV_32F, 0, 1, ksize=3))
    return cv2.compare(falling, -limit, cv2.CMP_GE)


def consistent(forward: np.ndarray, backward: np.ndarray,
               map_xy: np.ndarray) -> np.ndarray:
    """Forward-backward consistency (Sundaram et al. 2010): 0 where content appears, else
    255."""
    forward_at = cv2.remap(forward, map_xy, None, cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
    # On split planes: numpy reductions over the interleaved last axis cost 3 ms here.
    bx, by = cv2.split(backward)
    fx, fy = cv2.split(forward_at)
    sx, sy = bx + fx, by + fy
    mismatch = sx * sx + sy * sy
    bound = 0.01 * (bx * bx + by * by + fx * fx + fy * fy) + 0.5
    return (mismatch <= bound).view(np.uint8) * np.uint8(255)


class StillMask:
    """Where the input has held still since each pixel's anchor (see ``mask``)."""

    def __init__(self, config: TemporalConfig) -> None:
        self.config = config
        self.anchor: np.ndarray | None = None  # blurred grey each pixel is held to

    def mask(self, smooth: np.ndarray) -> np.ndarray | None:
        """255 where the (blurred) input has not drifted more than ``static_threshold`` from
        the pixel's anchor, else 0; the anchor moves to this frame wherever it drifted. None
        when the still blend is off.

        A per-pixel version of the static path. Comparing with the last frame alone would let
        a slow fade (under the threshold a frame) hold the larger weight for ever, the
        picture trailing the input by ~rate x blend / (1 - blend); against the anchor, a
        pixel takes the normal weight again once the fade adds up to the threshold. The
        anchor holds the *blurred* grey, each pixel its own: blurring the difference of
        anchors taken at different frames would average a drifted pixel with refreshed
        neighbours and hold it for a dozen frames of a fade.
        """
        cfg = self.config
        if cfg.still_blend <= cfg.output_blend:
            return None
        anchor = self.anchor
        if anchor is None or anchor.shape != smooth.shape:
            self.anchor = smooth
            return None
        drift = cv2.subtract(smooth, anchor, dtype=cv2.CV_16S)
        limit = cfg.static_threshold
        still = cv2.inRange(drift, -limit, limit)
        # Where it drifted the anchor is this frame: a masked copy of the old one over it.
        self.anchor = cv2.copyTo(anchor, still, smooth)
        return still


def blend_output(out: np.ndarray, warped: np.ndarray, motion: Motion,
                 config: TemporalConfig) -> np.ndarray:
    """Blend the last output, ``warped`` to this frame, into ``out`` (full resolution) by
    the confidence times ``output_blend`` (``still_blend`` where the input held still)."""
    height, width = out.shape[:2]
    # The weight as uint8 (255 = all history), resized with three channels so the blend
    # is two saturating uint8 multiplies and an add: a third cheaper than blendLinear's
    # float weights at 640x360; each product rounds, so it may differ by a level.
    scale = 255.0 * config.output_blend * motion.ease
    small = cv2.convertScaleAbs(motion.confidence, alpha=scale)
    if motion.still is not None:
        still_scale = 255.0 * config.still_blend * motion.ease
        small = cv2.copyTo(cv2.convertScaleAbs(motion.confidence, alpha=still_scale),
                           motion.still, small)
    # Resized as one channel and merged after: 0.1 ms less than resizing three.
    full = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    weight = cv2.merge((full, full, full))
    history = cv2.multiply(warped, weight, scale=1.0 / 255.0)
    return cv2.add(history, cv2.multiply(out, cv2.bitwise_not(weight), scale=1.0 / 255.0))
