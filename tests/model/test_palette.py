"""The colour terms of the style loss: what the sliced palette sees that the RGB Gram misses."""

from __future__ import annotations

import pytest
import torch

from stylecast.training import losses


def _grey_with_patches() -> torch.Tensor:
    """A grey picture with saturated blue and orange patches (a painting like Udnie)."""
    image = torch.full((1, 3, 64, 64), 0.45)
    image[:, :, :16, :32] = torch.tensor([0.15, 0.25, 0.75])[:, None, None]
    image[:, :, 40:56, 8:40] = torch.tensor([0.85, 0.45, 0.2])[:, None, None]
    return image


def test_sliced_palette_tells_a_tint_from_saturated_patches_where_the_gram_cannot() -> None:
    torch.manual_seed(0)
    painting = _grey_with_patches()
    # The same mean colour spread evenly over the frame: a grey-tinted filter look.
    tinted = painting.mean(dim=(2, 3), keepdim=True).expand_as(painting).clone()
    target = losses.colour_quantiles(painting)
    gram_error = float(losses.relative_mse(losses.gram(tinted), losses.gram(painting)))
    sliced_error = float(losses.sliced_palette_error(tinted, target))
    assert gram_error < 0.05  # the Gram barely sees it
    assert sliced_error > 0.5  # the distribution does
    # The painting's own pixels, in any order, are its distribution: no error beyond the
    # 256 quantiles' resolution at the steps between flat colours.
    shuffled = painting.flatten(2)[..., torch.randperm(64 * 64)].reshape(painting.shape)
    assert float(losses.sliced_palette_error(shuffled, target)) < 0.02 * sliced_error


def test_sliced_palette_trains_colour_towards_the_painting() -> None:
    torch.manual_seed(0)
    painting = _grey_with_patches()
    target = losses.colour_quantiles(painting)
    image = torch.full((1, 3, 64, 64), 0.45, requires_grad=True)
    image.data += 0.01 * torch.randn_like(image)
    optimiser = torch.optim.Adam([image], lr=0.02)
    first = float(losses.sliced_palette_error(image.detach(), target))
    for _ in range(150):
        optimiser.zero_grad()
        losses.sliced_palette_error(image, target).backward()
        optimiser.step()
    assert float(losses.sliced_palette_error(image.detach(), target)) < 0.2 * first  # ~0.1
    saturation = image.detach().amax(dim=1) - image.detach().amin(dim=1)
    assert float((saturation > 0.3).float().mean()) > 0.15  # saturated patches appeared


def test_style_loss_adds_the_chosen_palette_and_refuses_others() -> None:
    painting = _grey_with_patches()
    image = painting.mean(dim=(2, 3), keepdim=True).expand_as(painting).clone()
    feats = {layer: torch.ones(1, 4, 8, 8) for layer in losses.STYLE_LAYERS}
    targets = {layer: losses.gram(feats[layer]) for layer in losses.STYLE_LAYERS}
    targets[losses.PALETTE] = losses.gram(painting)
    targets[losses.PALETTE_QUANTILES] = losses.colour_quantiles(painting)
    assert float(losses.style_loss(feats, targets)) == pytest.approx(0, abs=1e-9)
    sliced = float(losses.style_loss(feats, targets, 2.0, image, "sliced"))
    assert sliced == pytest.approx(
        2.0 * float(losses.sliced_palette_error(image, targets[losses.PALETTE_QUANTILES])))
    assert sliced > float(losses.style_loss(feats, targets, 2.0, image, "gram"))
    with pytest.raises(ValueError, match="palette 'hsv'"):
        losses.style_loss(feats, targets, 1.0, image, "hsv")
