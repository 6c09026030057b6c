"""Perceptual, total-variation and temporal losses.

Content and style terms are *relative* errors (divided by the target's mean square), so
their weights read the same whatever VGG convention or input scale is in use: the Caffe
VGG on 0-255 inputs gives raw style terms ~1e10 and content ~1e5 (see
../shared/notes/training-on-cpu.md), which would make absolute weights unreadable.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

CONTENT_LAYER = "relu2_2"
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")


def gram(features: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C) Gram matrices normalised by C*H*W."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def relative_mse(value: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample mean squared error divided by the target's mean square: (N,) values."""
    dims = tuple(range(1, value.dim()))
    err = (value - target).pow(2).mean(dim=dims)
    return err / target.pow(2).mean(dim=dims).clamp_min(1e-12)


def content_loss(out_feats: dict, content_feats: dict) -> torch.Tensor:
    """(N,) relative content error at ``CONTENT_LAYER``."""
    return relative_mse(out_feats[CONTENT_LAYER], content_feats[CONTENT_LAYER])


def style_loss(out_feats: dict, target_grams: dict) -> torch.Tensor:
    """(N,) sum over ``STYLE_LAYERS`` of relative Gram errors; target_grams[layer] is (N,C,C)."""
    first = out_feats[STYLE_LAYERS[0]]
    total = torch.zeros(first.shape[0], device=first.device)
    for layer in STYLE_LAYERS:
        total = total + relative_mse(gram(out_feats[layer]), target_grams[layer])
    return total


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """(N,) mean absolute difference between neighbouring pixels."""
    dx = (image[..., :, 1:] - image[..., :, :-1]).abs().mean(dim=(1, 2, 3))
    dy = (image[..., 1:, :] - image[..., :-1, :]).abs().mean(dim=(1, 2, 3))
    return dx + dy


def temporal_loss(
    stylized_then_warped: torch.Tensor, warped_then_stylized: torch.Tensor, valid: torch.Tensor
) -> torch.Tensor:
    """(N,) masked MSE between the two orders of stylize and warp; valid is (N,1,H,W) 0/1."""
    err = (stylized_then_warped - warped_then_stylized).pow(2) * valid
    return err.sum(dim=(1, 2, 3)) / (valid.sum(dim=(1, 2, 3)) * 3).clamp_min(1.0)


def style_targets(vgg: torch.nn.Module, style_images: list[torch.Tensor]) -> dict:
    """Gram targets for each style image: dict layer -> (S, C, C)."""
    grams: dict[str, list[torch.Tensor]] = {layer: [] for layer in STYLE_LAYERS}
    with torch.inference_mode():
        for image in style_images:
            feats = vgg(image, STYLE_LAYERS)
            for layer in STYLE_LAYERS:
                grams[layer].append(gram(feats[layer])[0])
    return {layer: torch.stack(g) for layer, g in grams.items()}


def random_motion(
    images: torch.Tensor, generator: torch.Generator, max_shift: float = 0.04,
    max_angle: float = 0.035, max_zoom: float = 0.04, noise: float = 0.02,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A synthetic next frame: a small random affine motion plus sensor noise.

    Returns (warped image, sampling grid (N,H,W,2), validity mask (N,1,H,W)) so the same
    grid can warp the stylized first frame; the mask marks pixels that came from inside.
    """
    n = images.shape[0]
    u = torch.rand(n, 4, generator=generator) * 2 - 1
    angle, zoom = u[:, 0] * max_angle, 1 + u[:, 1] * max_zoom
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([
        torch.stack([cos, -sin, u[:, 2] * max_shift * 2], dim=1),
        torch.stack([sin, cos, u[:, 3] * max_shift * 2], dim=1),
    ], dim=1).to(images)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    warped = F.grid_sample(images, grid, padding_mode="border", align_corners=False)
    jitter = torch.randn(images.shape, generator=generator).to(images) * noise
    valid = ((grid.abs() <= 1).all(dim=-1)).unsqueeze(1).to(images)
    return (warped + jitter).clamp(0, 1), grid, valid
