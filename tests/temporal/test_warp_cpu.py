"""The cache's CPU warp (cv2.remap) against the torch reference in stylecast.temporal.warp."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from stylecast.temporal.warp import warp
from stylecast.temporal.warp_cpu import Warper


def smooth(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Smooth random values in [0, 1]: what features and frames look like up close."""
    rng = np.random.default_rng(seed)
    noise = rng.random(shape).astype(np.float32)
    return cv2.GaussianBlur(noise, (0, 0), 2.0).reshape(shape)


def reference(array: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """(h, w, c) and (h, w, 2) through the torch reference warp, back to (h, w, c)."""
    nchw = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None].float()
    flow_t = torch.from_numpy(np.ascontiguousarray(flow.transpose(2, 0, 1)))[None]
    return warp(nchw, flow_t)[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize(("h", "w", "c"), [(9, 13, 5), (23, 17, 64), (90, 160, 16)])
def test_feature_warp_matches_the_reference(h: int, w: int, c: int) -> None:
    features = smooth((h, w, c), seed=h)
    flow = (np.random.default_rng(w).normal(0, 3, (h, w, 2))).astype(np.float32)
    ours = Warper().warp(features, flow)
    expected = reference(features, flow)
    assert ours.shape == features.shape and ours.dtype == np.float32
    # OpenCV samples at 1/32-pixel steps; on smooth data that moves values by < 1 %.
    np.testing.assert_allclose(ours, expected, atol=0.01)


def test_frame_warp_matches_the_reference_within_a_level() -> None:
    frame = (smooth((37, 51, 3), seed=3) * 255).round().astype(np.uint8)
    flow = np.random.default_rng(4).normal(0, 4, (37, 51, 2)).astype(np.float32)
    ours = Warper().warp(frame, flow).astype(np.float32)
    expected = reference(frame.astype(np.float32), flow)
    assert np.abs(ours - expected).max() <= 1.5


def test_a_coarser_flow_is_resized_and_rescaled() -> None:
    # A 4-pixel shift measured at twice the feature resolution is a 2-pixel shift here.
    features = smooth((12, 20, 8), seed=5)
    flow = np.zeros((24, 40, 2), np.float32)
    flow[..., 0] = 4.0
    ours = Warper().warp(features, flow)
    np.testing.assert_array_equal(ours[:, :-2], features[:, 2:])
    np.testing.assert_array_equal(ours[:, -2:], features[:, -1:].repeat(2, axis=1))


def test_bad_flow_is_refused() -> None:
    with pytest.raises(ValueError, match=r"flow must be \(h, w, 2\)"):
        Warper().warp(np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 3), np.float32))


@pytest.mark.parametrize(("fh", "fw", "factor"), [(18, 32, 2), (9, 13, 4), (7, 5, 3)])
def test_a_finer_grid_gets_the_map_of_the_resized_flow_up_to_its_border(
        fh: int, fw: int, factor: int) -> None:
    # The map for a finer grid is built coarse and resized; it must equal the definition
    # (resize the flow, rescale it, add the pixel grid), the clamped border included.
    flow = np.random.default_rng(fh).normal(0, 3, (fh, fw, 2)).astype(np.float32)
    height, width = fh * factor, fw * factor
    resized = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR) * factor
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    expected = np.dstack((xs + resized[..., 0], ys + resized[..., 1]))
    ours = Warper().maps(flow, height, width)
    assert ours.shape == (height, width, 2) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, expected, atol=1e-3)
