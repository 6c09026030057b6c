"""warp_blend against an independent OpenCV reference, and its exact special cases."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from stylecast.temporal.warp import warp, warp_blend


def _opencv_reference(prev: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """(C, h, w) features warped by (2, h, w) backward flow, border replicated."""
    h, w = prev.shape[1:]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    map_x, map_y = xs + flow[0], ys + flow[1]
    return np.stack([cv2.remap(c, map_x, map_y, cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE) for c in prev])


@pytest.mark.parametrize("shape", [(3, 5, 7), (16, 13, 9), (1, 2, 2)])
def test_warp_matches_opencv_remap_on_odd_shapes(shape: tuple[int, int, int]) -> None:
    gen = torch.Generator().manual_seed(1)
    prev = torch.rand((1, *shape), generator=gen)
    flow = 2.5 * torch.randn((1, 2, *shape[1:]), generator=gen)
    expected = _opencv_reference(prev[0].numpy(), flow[0].numpy())
    # OpenCV interpolates with 5-bit fixed-point weights, hence the tolerance.
    np.testing.assert_allclose(warp(prev, flow)[0].numpy(), expected, atol=2e-2)


def test_blend_is_a_lerp_towards_the_warped_previous() -> None:
    gen = torch.Generator().manual_seed(2)
    cur, prev = torch.rand((2, 1, 8, 11, 13), generator=gen)
    flow = torch.randn((1, 2, 11, 13), generator=gen)
    conf = torch.rand((1, 1, 11, 13), generator=gen)
    expected = cur + conf * (warp(prev, flow) - cur)
    torch.testing.assert_close(warp_blend(cur, prev, flow, conf), expected)


def test_identity_flow_gives_the_previous_features_exactly() -> None:
    prev = torch.rand(1, 4, 9, 6)
    out = warp_blend(torch.rand(1, 4, 9, 6), prev, torch.zeros(1, 2, 9, 6), torch.ones(1, 1, 9, 6))
    torch.testing.assert_close(out, prev, atol=1e-6, rtol=0)


def test_zero_confidence_gives_the_new_features_exactly() -> None:
    cur = torch.rand(1, 4, 9, 6)
    out = warp_blend(cur, torch.rand(1, 4, 9, 6), 3 * torch.randn(1, 2, 9, 6),
                     torch.zeros(1, 1, 9, 6))
    assert torch.equal(out, cur)


def test_integer_shift_is_an_exact_shift() -> None:
    prev = torch.rand(1, 5, 10, 12)
    flow = torch.zeros(1, 2, 10, 12)
    flow[:, 0], flow[:, 1] = 3.0, -2.0  # content at (y, x) came from (y - 2, x + 3)
    out = warp(prev, flow)
    torch.testing.assert_close(out[..., 2:, :9], prev[..., :8, 3:], atol=1e-6, rtol=0)


def test_shapes_are_checked_at_the_boundary() -> None:
    with pytest.raises(ValueError, match="flow"):
        warp(torch.rand(1, 4, 8, 8), torch.zeros(1, 2, 8, 7))
    with pytest.raises(ValueError, match="confidence"):
        warp_blend(torch.rand(1, 4, 8, 8), torch.rand(1, 4, 8, 8), torch.zeros(1, 2, 8, 8),
                   torch.zeros(1, 4, 8, 8))
