"""--gram-balance: how the style layers' Gram distances weigh against each other."""

from __future__ import annotations

import pytest
import torch

from stylecast.training import losses


def _feats(scale_first: float) -> tuple[dict, dict]:
    """Features whose deep layers have far more energy than relu1_1 (as VGG's do), and
    targets equal to them except relu1_1, whose Gram is ``scale_first`` times the output's."""
    gen = torch.Generator().manual_seed(3)
    feats = {layer: torch.rand(1, 4, 8, 8, generator=gen) * 10.0 ** i
             for i, layer in enumerate(losses.STYLE_LAYERS)}
    targets = {layer: losses.gram(f) for layer, f in feats.items()}
    first = losses.STYLE_LAYERS[0]
    targets[first] = targets[first] * scale_first
    return feats, targets


def test_per_layer_weighs_a_shallow_error_the_total_hides() -> None:
    # The output's relu1_1 Gram is half the target's: a relative error of 1/4 at that layer.
    feats, targets = _feats(2.0)
    total = float(losses.style_loss(feats, targets, balance="total"))
    per_layer = float(losses.style_loss(feats, targets, balance="per-layer"))
    assert per_layer == pytest.approx(0.25 / 4, rel=1e-5)
    assert total < 1e-5  # relu1_1 holds a millionth of the energy


def test_both_balances_agree_when_every_layer_is_off_by_the_same_factor() -> None:
    feats, targets = _feats(1.0)
    doubled = {layer: 2 * g for layer, g in targets.items()}
    for balance in losses.GRAM_BALANCES:
        assert float(losses.style_loss(feats, doubled, balance=balance)) == pytest.approx(
            0.25, rel=1e-5), balance


def test_an_unknown_balance_is_refused() -> None:
    feats, targets = _feats(1.0)
    with pytest.raises(ValueError, match="balance 'max'"):
        losses.style_loss(feats, targets, balance="max")
