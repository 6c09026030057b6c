"""Motion between two frames: DIS optical flow, fitted to the flow image and settled.

DIS (ULTRAFAST, searched down to ``flow_finest_scale``) runs backward between the two grey
frames at flow resolution (~0.6 ms at 240x136); motion within ``settle`` of the frame's
median is set to it, so a still background is not resampled into blur.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

from stylecast.temporal.config import TemporalConfig


def blurred(gray: np.ndarray) -> np.ndarray:
    """The grey frame as the static, still and photometric checks compare it."""
    return cv2.GaussianBlur(gray, (5, 5), 0)


class Motion(NamedTuple):
    """This frame's motion against the last one, at flow resolution."""

    flow: np.ndarray  # (h, w, 2) float32 backward flow
    confidence: np.ndarray  # (h, w) float32 in [0, 1]
    ease: float  # 1 with style and controls unchanged (see TemporalCache._ease)
    still: np.ndarray | None  # (h, w) uint8, 255 where the input held still (StillMask)


class FlowEstimator:
    """Dense flow between grey frames at flow resolution, one DIS instance kept between
    frames (its buffers are sized per image size)."""

    def __init__(self, config: TemporalConfig) -> None:
        self.config = config
        self.dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        # The preset's own stride, kept for flow images too small for the configured
        # pyramid (fit).
        self._preset_stride = self.dis.getPatchStride()
        self.dis_size: tuple[int, int] | None = None  # flow image size fit() set it for

    def backward(self, gray: np.ndarray, prev: np.ndarray) -> np.ndarray:
        """(h, w, 2) float32: where each pixel of ``gray`` was in ``prev``, settled."""
        h, w = gray.shape
        if self.dis_size != (h, w):
            self.fit(h, w)
            self.dis_size = (h, w)
        return self.settle(self.dis.calc(gray, prev, None))

    def forward(self, gray: np.ndarray, prev: np.ndarray) -> np.ndarray:
        """(h, w, 2) float32: where each pixel of ``prev`` went in ``gray`` (not settled)."""
        return self.dis.calc(prev, gray, None)

    def fit(self, height: int, width: int) -> None:
        """Set DIS's finest level and patch stride for a flow image of this size: the
        configured ones, or, where the image is too small for them, one level under the
        coarsest and the ULTRAFAST preset's stride (4).

        DIS starts its search at a level set by the image size (OpenCV: log2 of the longer
        side over four patches, rounded, and at most log2 of the shorter side over one
        patch). With no coarser level above the finest, the search has nothing to start
        from: on a 64x48 flow image (a 128x96 frame) the search at level 1 missed a 2-pixel
        motion by 0.33 px on average, at level 0 by 0.15 px; and a wide stride leaves few
        patches on so small an image.
        """
        cfg = self.config
        patch = self.dis.getPatchSize()
        coarsest = min(int(math.log2(max(height, width) / (4.0 * patch)) + 0.5),
                       int(math.log2(min(height, width) / patch)))
        if coarsest > cfg.flow_finest_scale:
            self.dis.setFinestScale(cfg.flow_finest_scale)
            self.dis.setPatchStride(cfg.flow_patch_stride)
        else:
            self.dis.setFinestScale(max(0, coarsest - 1))
            self.dis.setPatchStride(self._preset_stride)

    def settle(self, flow: np.ndarray) -> np.ndarray:
        """``flow`` with each component within ``settle`` of the frame's median motion set
        to that median (in place; see ``TemporalConfig.settle``)."""
        limit = self.config.settle
        if limit <= 0.0:
            return flow
        h, w = flow.shape[:2]
        # The middle of every fourth pixel each way: the same motion, a sixteenth the sort.
        sample = flow[::4, ::4].reshape(-1, 2)
        median = np.partition(sample, len(sample) // 2, axis=0)[len(sample) // 2]
        # As one channel of x, y pairs, so one compare and one masked copy do both axes
        # (0.14 ms at 240x136; numpy's masked assignment took 0.35).
        pairs = flow.reshape(h, w * 2)
        medians = np.repeat(np.tile(median, w)[None], h, axis=0)
        near = cv2.compare(cv2.absdiff(pairs, medians), limit, cv2.CMP_LT)
        cv2.copyTo(medians, near, pairs)
        return flow
