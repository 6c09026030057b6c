"""The user's controls, computed inside the graph so one compiled model serves them all.

* strength: 0 gives the camera image back, 1 the full stylization;
* colour preservation: 0 transfers the painting's palette, 1 keeps the camera's colours and
  transfers only texture and luminance (Gatys et al. 2016, luminance-only transfer);
* the style vector: any mix of styles, so a blend of two is a vector with two weights.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

# ITU-R BT.601 full range, the matrix JPEG and most webcams use.
_LUMA = (0.299, 0.587, 0.114)


def luma(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) float RGB in [0, 1] -> (N, 1, H, W) luma in [0, 1].

    A 1x1 convolution rather than three channel slices: exported, the slices become a
    split that OpenVINO's CPU plugin runs in its reference (scalar) code, ~0.5 ms per call
    at 480x272 on this project's 2-core machine; the convolution is a JIT kernel.
    """
    weight = torch.tensor(_LUMA, dtype=rgb.dtype, device=rgb.device).reshape(1, 3, 1, 1)
    return F.conv2d(rgb, weight)


def preserve_colour(styled: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Luma of ``styled`` with the chroma of ``content``; both (N, 3, H, W) float in [0, 1].

    Adding the luma difference to every channel keeps the content's chroma exactly
    (Y'CbCr chroma is a difference from luma), without a colour-space round trip.
    """
    return content + (luma(styled) - luma(content))


def apply_controls(
    styled: torch.Tensor, content: torch.Tensor, strength: torch.Tensor,
    preserve: torch.Tensor,
) -> torch.Tensor:
    """Mix colour preservation, then strength; strength and preserve are (N,) in [0, 1]."""
    s = strength.reshape(-1, 1, 1, 1)
    p = preserve.reshape(-1, 1, 1, 1)
    mixed = styled + p * (preserve_colour(styled, content) - styled)
    return (content + s * (mixed - content)).clamp(0.0, 1.0)


def pad_to_multiple(image: torch.Tensor, multiple: int) -> torch.Tensor:
    """Reflect-pad (N, C, H, W) on the bottom and right up to multiples of ``multiple``."""
    h, w = image.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return image
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(image, (0, pw, 0, ph), mode=mode)
