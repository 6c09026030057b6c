"""Perceptual, total-variation and temporal losses.

The style and content terms are the quality measure (``stylecast.training.measure``) itself,
divided by a per-target constant so that their weights read the same for every painting
and photo: the style term is the summed Gram distance over relu1_1..relu4_1 divided by the
painting's own Gram energy, the content term the relu4_2 error divided by the photo's mean
square. In those absolute units relu4_1 outweighs relu1_1 by ~10^5, so the measure says
nothing about colour; ``palette_weight`` adds the relative error of the pixels' own RGB
Gram matrix (the colour mix, with no texture in it). Relative Gram errors at relu1_1 and
relu2_1 would do that too, but they ask for the painting's finest texture at full weight,
which a network pays for with a pixel-scale diagonal hatching over every frame.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from stylecast.training.measure import CONTENT_LAYER, STYLE_LAYERS, gram

__all__ = ["CONTENT_LAYER", "STRUCTURE_LAYER", "STYLE_LAYERS", "gram"]

# Johnson et al.'s content layer. The measure's relu4_2 alone let a network trained from
# scratch drop the scene (a dark bear painted as a light blob, edges gone, at 250-750
# steps); relu2_2 keeps edges and brightness, and the measure's content follows.
STRUCTURE_LAYER = "relu2_2"


def relative_mse(value: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample mean squared error divided by the target's mean square: (N,) values."""
    dims = tuple(range(1, value.dim()))
    err = (value - target).pow(2).mean(dim=dims)
    return err / target.pow(2).mean(dim=dims).clamp_min(1e-12)


def content_loss(out_feats: dict, content_feats: dict, structure_weight: float = 0.0
                 ) -> torch.Tensor:
    """(N,) relative content error at ``CONTENT_LAYER``, plus ``structure_weight`` times
    the relative error at ``STRUCTURE_LAYER``."""
    loss = relative_mse(out_feats[CONTENT_LAYER].float(), content_feats[CONTENT_LAYER].float())
    if structure_weight:
        loss = loss + structure_weight * relative_mse(
            out_feats[STRUCTURE_LAYER].float(), content_feats[STRUCTURE_LAYER].float())
    return loss


PALETTE = "rgb"
PALETTE_QUANTILES = "rgb_quantiles"
PALETTES = ("gram", "sliced")
#: How the style layers' Gram distances are weighed against each other: "total", each
#: distance over the painting's Gram energy summed over all layers (the measure's own
#: weighting, in which relu4_1 is ~99 % of the loss), or "per-layer", the mean over layers
#: of each layer's distance over its own energy (every layer asks for as much).
GRAM_BALANCES = ("total", "per-layer")
# Colour axes the sliced palette compares along: R, G, B, brightness and the two
# opponent axes (red-green, yellow-blue), and the three pairwise differences.
_COLOUR_AXES = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [1, -1, 0],
                             [1, 1, -2], [1, 0, -1], [0, 1, -1]])
_COLOUR_AXES = _COLOUR_AXES / _COLOUR_AXES.norm(dim=1, keepdim=True)
QUANTILES = 256


def _sorted_colours(image: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB -> (N, axes, H*W): the pixels projected on each colour axis, sorted."""
    n = image.shape[0]
    projected = torch.einsum("pc,nchw->nphw", _COLOUR_AXES.to(image), image)
    return projected.reshape(n, len(_COLOUR_AXES), -1).sort(dim=-1).values


def colour_quantiles(image: torch.Tensor, count: int = QUANTILES) -> torch.Tensor:
    """(N, 3, H, W) RGB -> (N, axes, count): the pixels' colours along each colour axis at
    ``count`` evenly spaced ranks (a 1-D distribution per axis)."""
    ordered = _sorted_colours(image)
    return F.interpolate(ordered, size=count, mode="linear", align_corners=True)


def sliced_palette_error(image: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(N,) distance of the image's colour distribution from the painting's ``target``
    (``colour_quantiles``): every pixel's rank along each colour axis against the painting's
    colour at that rank, squared (a sliced Wasserstein-2), each axis divided by the
    painting's spread along it. The RGB Gram matrix is mostly the mean colour (Udnie: a
    grey-tinted frame and a grey painting with saturated patches have Grams 0.05 % apart);
    the quantiles see how much of the frame is saturated and how strongly."""
    ours = _sorted_colours(image.float())
    theirs = F.interpolate(target.float(), size=ours.shape[-1], mode="linear",
                           align_corners=True)
    spread = target.float().var(dim=-1, keepdim=True).clamp_min(1e-4)
    return ((ours - theirs).pow(2) / spread).mean(dim=(1, 2))


def style_loss(out_feats: dict, target_grams: dict, palette_weight: float = 0.0,
               image: torch.Tensor | None = None, palette: str = "gram",
               balance: str = "total") -> torch.Tensor:
    """(N,) style error; target_grams[layer] is (N, C, C).

    The measure's Gram distance divided by the target's Gram energy (``balance`` "total"),
    or the mean over layers of each layer's relative distance ("per-layer"), plus
    ``palette_weight`` times a colour error of ``image`` (N, 3, H, W) float RGB in [0, 1]:
    "gram", the relative error of its RGB Gram matrix against ``target_grams[PALETTE]``, or
    "sliced", ``sliced_palette_error`` against ``target_grams[PALETTE_QUANTILES]``.
    """
    if balance not in GRAM_BALANCES:
        raise ValueError(f"style_loss: balance {balance!r} is not one of {GRAM_BALANCES}")
    distances, energies = [], []
    for layer in STYLE_LAYERS:
        grams, target = gram(out_feats[layer]), target_grams[layer]
        distances.append((grams - target).pow(2).sum(dim=(1, 2)))
        energies.append(target.pow(2).sum(dim=(1, 2)).clamp_min(1e-12))
    if balance == "total":
        loss = torch.stack(distances).sum(0) / torch.stack(energies).sum(0)
    else:
        loss = (torch.stack(distances) / torch.stack(energies)).mean(0)
    if palette_weight:
        if image is None:
            raise ValueError("style_loss: palette_weight needs the image")
        if palette == "sliced":
            colour = sliced_palette_error(image, target_grams[PALETTE_QUANTILES])
        elif palette == "gram":
            colour = relative_mse(gram(image), target_grams[PALETTE])
        else:
            raise ValueError(f"style_loss: palette {palette!r} is not one of {PALETTES}")
        loss = loss + palette_weight * colour
    return loss


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """(N,) mean absolute difference between neighbouring pixels."""
    dx = (image[..., :, 1:] - image[..., :, :-1]).abs().mean(dim=(1, 2, 3))
    dy = (image[..., 1:, :] - image[..., :-1, :]).abs().mean(dim=(1, 2, 3))
    return dx + dy


#: The grid term's block (the lite head's PixelShuffle factor) and tile (8 x 8 blocks).
GRID_CELL, GRID_WINDOW = 4, 8
GRID_TILE = GRID_CELL * GRID_WINDOW


def grid_pattern(image: torch.Tensor, cell: int = GRID_CELL,
                 window: int = GRID_WINDOW) -> torch.Tensor:
    """(N,) energy of the pattern that repeats in every ``cell`` x ``cell`` block.

    The lite network's PixelShuffle head paints each 4x4 block from one feature cell, and
    left alone it learns to put the same small texture into every block: a mesh locked to
    the pixel grid, which the Gram loss counts as painting texture. Averaging the blocks
    of each ``window`` x ``window``-block tile keeps only such a grid-locked pattern
    (real content falls on the grid at random phases and averages towards zero); the
    mean square of that average block, less its mean, is the penalty. Crops are trimmed
    to whole tiles (at least one tile is needed).
    """
    n, c, h, w = image.shape
    tile = cell * window
    if h < tile or w < tile:
        raise ValueError(f"grid_pattern needs at least {tile}x{tile} pixels, got {w}x{h}")
    rows, cols = h // tile, w // tile
    tiles = image[..., : rows * tile, : cols * tile].reshape(
        n, c, rows, window, cell, cols, window, cell)
    block = tiles.mean(dim=(3, 6))  # (N, C, rows, cell, cols, cell): each tile's mean block
    block = block - block.mean(dim=(3, 5), keepdim=True)
    return block.pow(2).mean(dim=(1, 2, 3, 4, 5))


def temporal_loss(
    stylized_then_warped: torch.Tensor, warped_then_stylized: torch.Tensor, valid: torch.Tensor
) -> torch.Tensor:
    """(N,) masked MSE between the two orders of stylize and warp; valid is (N,1,H,W) 0/1."""
    err = (stylized_then_warped - warped_then_stylized).pow(2) * valid
    return err.sum(dim=(1, 2, 3)) / (valid.sum(dim=(1, 2, 3)) * 3).clamp_min(1.0)


def style_targets(vgg: torch.nn.Module, style_images: list[torch.Tensor]) -> dict:
    """Gram targets for each style image: dict layer -> (S, C, C), ``PALETTE`` -> (S, 3, 3),
    the Gram matrix of the painting's RGB pixels, and ``PALETTE_QUANTILES`` -> (S, axes,
    QUANTILES), their colour distribution (``colour_quantiles``)."""
    keys = (*STYLE_LAYERS, PALETTE, PALETTE_QUANTILES)
    grams: dict[str, list[torch.Tensor]] = {layer: [] for layer in keys}
    with torch.inference_mode():
        for image in style_images:
            feats = vgg(image, STYLE_LAYERS)
            for layer in STYLE_LAYERS:
                grams[layer].append(gram(feats[layer])[0])
            grams[PALETTE].append(gram(image)[0])
            grams[PALETTE_QUANTILES].append(colour_quantiles(image)[0])
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
    return _moved_frame(images, theta, generator, noise)


def _moved_frame(
    images: torch.Tensor, theta: torch.Tensor, generator: torch.Generator, noise: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``images`` moved by the affine maps ``theta`` (N, 2, 3), plus sensor noise: (frame,
    sampling grid (N,H,W,2), mask (N,1,H,W) of the pixels that came from inside)."""
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    warped = F.grid_sample(images, grid, padding_mode="border", align_corners=False)
    jitter = torch.randn(images.shape, generator=generator).to(images) * noise
    valid = ((grid.abs() <= 1).all(dim=-1)).unsqueeze(1).to(images)
    return (warped + jitter).clamp(0, 1), grid, valid


def random_shift(
    images: torch.Tensor, generator: torch.Generator, max_shift: int = 3,
    noise: float = 0.02, margin: int = 8,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A synthetic next frame: the crop moved by whole pixels, 1..``max_shift`` along each
    axis in either direction, plus sensor noise; the same triple as :func:`random_motion`.

    ``lite`` is a PixelUnshuffle stem and a PixelShuffle head around a 1/4-resolution body,
    so it is shift-equivariant only in steps of 4 pixels: the step-5300 pack's output on a
    photo moved by 4 px matched its output moved by 4 px within 0.5 levels (mean), moved by
    1-3 px it differed by 11-14 (The Starry Night). That difference is the flicker a pan
    shows, and the 4-pixel texture of the hatching. Whole-pixel moves warp exactly (the
    grid samples pixel centres), so the target is the stylized frame itself, not a
    bilinearly blurred copy. ``margin`` pixels at the frame's edges are left out of the
    mask: the reflection padding answers a moved edge differently.
    """
    n, _, h, w = images.shape
    size = torch.randint(1, max_shift + 1, (n, 2), generator=generator)
    sign = torch.randint(0, 2, (n, 2), generator=generator) * 2 - 1
    shift = (size * sign).float()  # (N, 2): pixels (x, y) the content moves by
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = -2 * shift[:, 0] / w
    theta[:, 1, 2] = -2 * shift[:, 1] / h
    moved, grid, inside = _moved_frame(images, theta.to(images), generator, noise)
    edges = torch.zeros(1, 1, h, w, dtype=images.dtype, device=images.device)
    edges[..., margin:h - margin, margin:w - margin] = 1.0
    return moved, grid, inside * edges


#: The temporal term's synthetic motions, by their ``--temporal-motion`` names.
MOTIONS: dict[str, Callable[[torch.Tensor, torch.Generator],
                            tuple[torch.Tensor, torch.Tensor, torch.Tensor]]] = {
    "affine": random_motion, "shift": random_shift}
