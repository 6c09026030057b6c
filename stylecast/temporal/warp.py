"""Warp-and-blend of decoder-input features: the one op the temporal cache adds to the graph.

This is the readable reference (``grid_sample`` + lerp). A fused kernel (Triton, later)
must match :func:`warp_blend` on odd shapes; nothing else in the package may re-implement it.

Conventions shared with :mod:`stylecast.temporal.cache`:

* ``flow`` is the *backward* flow at feature resolution, in feature pixels: the content at
  (y, x) of the current frame was at (y + flow[1], x + flow[0]) in the previous frame
  (what OpenCV's ``DISOpticalFlow.calc(current, previous)`` returns).
* ``confidence`` is the weight of the warped previous features, already scaled by the
  cache's blend strength; 0 takes the fresh features, 1 the warped previous ones.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def _check(prev: torch.Tensor, flow: torch.Tensor) -> None:
    if prev.ndim != 4 or flow.ndim != 4 or flow.shape[1] != 2:
        raise ValueError(f"prev must be (N, C, h, w) and flow (N, 2, h, w); got "
                         f"{tuple(prev.shape)} and {tuple(flow.shape)}")
    if prev.shape[0] != flow.shape[0] or prev.shape[2:] != flow.shape[2:]:
        raise ValueError(f"prev {tuple(prev.shape)} and flow {tuple(flow.shape)} differ in "
                         "batch or spatial size; compute the flow at feature resolution")


def flow_to_grid(flow: torch.Tensor) -> torch.Tensor:
    """Backward flow (N, 2, h, w) float32, feature pixels -> ``grid_sample`` grid (N, h, w, 2).

    The grid is in ``align_corners=True`` normalised coordinates, so an integer flow samples
    exactly on texel centres (an integer shift is reproduced bit for bit). h, w >= 2.
    """
    _, _, h, w = flow.shape
    xs = torch.arange(w, dtype=flow.dtype, device=flow.device).reshape(1, 1, w)
    ys = torch.arange(h, dtype=flow.dtype, device=flow.device).reshape(1, h, 1)
    gx = (xs + flow[:, 0]) * (2.0 / (w - 1)) - 1.0
    gy = (ys + flow[:, 1]) * (2.0 / (h - 1)) - 1.0
    return torch.stack((gx, gy), dim=-1)


def warp(prev: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Bilinearly warp (N, C, h, w) float features by backward flow (N, 2, h, w).

    Samples falling outside the map take the border value; the cache gives them zero
    confidence, so the border value never reaches the output.
    """
    _check(prev, flow)
    return F.grid_sample(prev, flow_to_grid(flow), mode="bilinear", padding_mode="border",
                         align_corners=True)


def warp_blend(
    current: torch.Tensor, prev: torch.Tensor, flow: torch.Tensor, confidence: torch.Tensor
) -> torch.Tensor:
    """``current + confidence * (warp(prev, flow) - current)``.

    Args:
        current: (N, C, h, w) float32 fresh features of this frame, any device.
        prev: (N, C, h, w) float32 features cached from the previous frame, same device.
        flow: (N, 2, h, w) float32 backward flow in feature pixels.
        confidence: (N, 1, h, w) float32 in [0, 1], weight of the warped previous features.

    Returns:
        (N, C, h, w) float32 blended features.
    """
    if current.shape != prev.shape:
        raise ValueError(f"current {tuple(current.shape)} and prev {tuple(prev.shape)} differ")
    if confidence.shape != (current.shape[0], 1, *current.shape[2:]):
        raise ValueError(f"confidence must be (N, 1, h, w) = "
                         f"{(current.shape[0], 1, *current.shape[2:])}; got "
                         f"{tuple(confidence.shape)}")
    return torch.lerp(current, warp(prev, flow), confidence)
