"""The temporal state as plain numpy arrays: what crosses the Runtime boundary per frame.

numpy only (no torch), so ``stylecast.runtime.base`` can import it without cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TemporalInputs:
    """Per-frame temporal inputs of ``TemporalFrameGraph`` (layout in its module docstring).

    Attributes:
        prev_feats: (1, C, h, w) float32, h = H/4 and w = W/4 of the network input.
        prev_out: (1, H, W, 3) uint8 RGB, the last output.
        flow: (1, 2, h, w) float32 backward flow in feature pixels.
        confidence: (1, 2, h, w) float32 in [0, 1], history weight for features (channel 0)
            and output (channel 1); 0 everywhere means "no history".
        prev_stats: (1, 2, K) float32 smoothed norm mean/variance.
        stat_rate: (1,) float32 in [0, 1]; 1 uses this frame's statistics only.
    """

    prev_feats: np.ndarray
    prev_out: np.ndarray
    flow: np.ndarray
    confidence: np.ndarray
    prev_stats: np.ndarray
    stat_rate: np.ndarray

    @classmethod
    def empty(cls, channels: int, stats_channels: int, height: int, width: int) -> TemporalInputs:
        """No history: zero features, zero confidence, statistics from this frame only.

        Args:
            channels: C of the decoder-input features.
            stats_channels: K, from ``stats_channels(network)``.
            height: h, network input height / 4.
            width: w, network input width / 4.
        """
        return cls(
            prev_feats=np.zeros((1, channels, height, width), np.float32),
            prev_out=np.zeros((1, height * 4, width * 4, 3), np.uint8),
            flow=np.zeros((1, 2, height, width), np.float32),
            confidence=np.zeros((1, 2, height, width), np.float32),
            prev_stats=np.zeros((1, 2, stats_channels), np.float32),
            stat_rate=np.ones(1, np.float32),
        )

    def check(self, channels: int, stats_channels: int, height: int, width: int) -> None:
        """Shape and dtype check at the runtime boundary.

        Raises:
            ValueError: an array's shape or dtype differs from the layout above.
        """
        expected = {
            "prev_feats": (1, channels, height, width), "flow": (1, 2, height, width),
            "confidence": (1, 2, height, width), "prev_stats": (1, 2, stats_channels),
            "stat_rate": (1,),
        }
        if self.prev_out.dtype != np.uint8 or self.prev_out.shape != (1, height * 4,
                                                                       width * 4, 3):
            raise ValueError(f"temporal input prev_out must be (1, {height * 4}, {width * 4}, "
                             f"3) uint8; got {self.prev_out.shape} {self.prev_out.dtype}")
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
        features: (1, C, h, w) float32 blended decoder-input features.
        stats: (1, 2, K) float32 smoothed norm statistics.
    """

    features: np.ndarray
    stats: np.ndarray
