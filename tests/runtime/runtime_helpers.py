"""Shared helpers for runtime tests (fixtures live in conftest.py)."""

from __future__ import annotations

import numpy as np

from stylecast.model.network import StyleNetwork
from stylecast.runtime.pytorch import TorchRuntime

#: Style tables this far from 1 and 0: the style vector matters, the picture stays sane.
SPREAD = 0.3


def make_frame(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth shapes plus noise: edges and texture, like a camera frame."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([xx / width, yy / height, (xx + yy) / (width + height)], axis=-1) * 200
    base[(xx - width / 2) ** 2 + (yy - height / 2) ** 2 < (min(height, width) / 3) ** 2] = 230
    noisy = base + rng.normal(0, 12, base.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


STYLE = np.array([0.6, 0.4, 0.0], dtype=np.float32)
STRENGTH, PRESERVE = 0.8, 0.3


def torch_reference(network: StyleNetwork, frame: np.ndarray, style: np.ndarray = STYLE,
                    strength: float = STRENGTH, preserve: float = PRESERVE) -> np.ndarray:
    """The eager torch CPU runtime's output, which every other runtime is checked against."""
    runtime = TorchRuntime(network=network)
    runtime.open()
    try:
        return runtime.infer(frame, style, strength, preserve)
    finally:
        runtime.close()


def assert_close_to_reference(out: np.ndarray, ref: np.ndarray) -> None:
    """At most one uint8 level off for almost every pixel, never far off anywhere."""
    assert out.shape == ref.shape and out.dtype == np.uint8
    diff = np.abs(out.astype(np.int16) - ref.astype(np.int16))
    assert (diff <= 1).mean() >= 0.999, f"{(diff > 1).mean():.4%} of values differ by > 1"
    assert diff.max() <= 3
