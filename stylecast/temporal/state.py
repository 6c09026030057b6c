"""The temporal state as plain numpy arrays: what crosses the Runtime boundary per frame.

numpy only (no torch), so ``stylecast.runtime.base`` can import it without cost.

The cache warps the history *before* the graph (``stylecast.temporal.warp_cpu``): the graph
only blends, so it needs no flow input and no grid sampling (OpenVINO's GridSample cost
6 ms per frame at 640x360 where ``cv2.remap`` of the same features costs 0.5 ms). Features
cross the boundary channels-last, the layout ``cv2.remap`` reads, so no transpose is paid on
either side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TemporalInputs:
    """Per-frame temporal inputs of ``TemporalFrameGraph`` (layout in its module docstring).

    Attributes:
        prev_feats: (1, h, w, C) float32, the last frame's decoder-input features already
            warped to this frame; h = H/4 and w = W/4 of the network input.
        confidence: (1, 1, h, w) float32 in [0, 1], weight of ``prev_feats``; 0 everywhere
            means "no history".
        prev_stats: (1, 2, K) float32 smoothed norm mean/variance.
        stat_rate: (1,) float32 in [0, 1]; 1 uses this frame's statistics only.
    """

    prev_feats: np.ndarray
    confidence: np.ndarray
    prev_stats: np.ndarray
    stat_rate: np.ndarray

    @classmethod
    def empty(cls, channels: int, stats_channels: int, height: int, width: int) -> TemporalInputs:
        """No history: zero features, zero confidence, statistics from this frame only.

        Args:
            channels: C of the decoder-input features.
            stats_channels: K, from ``network.stats_channels``.
            height: h, network input height / 4.
            width: w, network input width / 4.
        """
        return cls(
            prev_feats=np.zeros((1, height, width, channels), np.float32),
            confidence=np.zeros((1, 1, height, width), np.float32),
            prev_stats=np.zeros((1, 2, stats_channels), np.float32),
            stat_rate=np.ones(1, np.float32),
        )

    def feeds(self) -> dict[str, np.ndarray]:
        """The state inputs by graph input name (the frame and controls come separately)."""
        return {"prev_feats": self.prev_feats, "confidence": self.confidence,
                "prev_stats": self.prev_stats, "stat_rate": self.stat_rate}

    def check(self, channels: int, stats_channels: int, height: int, width: int) -> None:
        """Shape and dtype check at the runtime boundary.

        Raises:
            ValueError: an array's shape or dtype differs from the layout above.
        """
        expected = {
            "prev_feats": (1, height, width, channels), "confidence": (1, 1, height, width),
            "prev_stats": (1, 2, stats_channels), "stat_rate": (1,),
        }
        for name, shape in expected.items():
            array = getattr(self, name)
            if array.dtype != np.float32 or array.shape != shape:
                raise ValueError(f"temporal input {name} must be {shape} float32 for a "
                                 f"{width * 4}x{height * 4} frame; got {array.shape} "
                                 f"{array.dtype}")


@dataclass(frozen=True)
class TemporalOutputs:
    """What the graph hands back for the next frame.

    Attributes:
        features: (1, h, w, C) float32 blended decoder-input features.
        stats: (1, 2, K) float32 smoothed norm statistics.
    """

    features: np.ndarray
    stats: np.ndarray
