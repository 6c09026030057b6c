"""Start a resize-head ``lite`` from a trained PixelShuffle ``lite`` (``--init-from``).

Everything but the head is copied. The resize head's first three channels start as each
4x4 block's mean colour (the mean of the 16 sub-pixel rows the PixelShuffle table holds
per colour), its other channels at their fresh initialisation, and its full-resolution
refinement as the old refinement plus the identity on those three channels. The new
network then paints a smoothed copy of the old one's output (the sub-block texture gone),
which training sharpens again, instead of starting from noise.
"""

from __future__ import annotations

import torch

from stylecast.model.network import StyleNetwork

_BLOCK = 16  # sub-pixels per colour in the PixelShuffle(4) table


def resize_head_state(pixelshuffle_state: dict[str, torch.Tensor],
                      network: StyleNetwork) -> dict[str, torch.Tensor]:
    """``network``'s (a resize-head lite) state dict, filled from a PixelShuffle lite's."""
    state = {key: value.clone() for key, value in network.state_dict().items()}
    for key, value in pixelshuffle_state.items():
        if key in state and state[key].shape == value.shape:
            state[key] = value.clone()
    old_w = pixelshuffle_state["decoder.to_pixels.weight"]  # (48, C, 1, 1)
    old_b = pixelshuffle_state["decoder.to_pixels.bias"]
    state["decoder.to_pixels.weight"][:3] = old_w.view(3, _BLOCK, *old_w.shape[1:]).mean(1)
    state["decoder.to_pixels.bias"][:3] = old_b.view(3, _BLOCK).mean(1)
    old_refine = pixelshuffle_state["decoder.refine.weight"]  # (3, 6, 3, 3): coarse, image
    channels = state["decoder.to_pixels.weight"].shape[0]
    refine = torch.zeros(3, channels + 3, 3, 3)
    refine[:, :3] = old_refine[:, :3]
    refine[:, channels:] = old_refine[:, 3:]
    refine[torch.arange(3), torch.arange(3), 1, 1] += 1.0  # the old head's "coarse +" skip
    state["decoder.refine.weight"] = refine
    state["decoder.refine.bias"] = pixelshuffle_state["decoder.refine.bias"].clone()
    return state
