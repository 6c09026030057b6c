"""The frame-in, frame-out graph every runtime executes.

Camera frames are uint8 (H, W, 3) RGB; so is what every sink wants. Doing the uint8 <->
float conversion and the HWC <-> CHW layout change *inside* the graph lets OpenVINO and
TensorRT fuse them into the first and last layers instead of paying for separate full-frame
passes in numpy (../shared/notes/cpu-inference-and-packaging.md measures 8-10 ms for a
careless conversion chain at 720p).
"""

from __future__ import annotations

import torch
from torch import nn

from stylecast.model.controls import apply_controls
from stylecast.model.network import StyleNetwork

INPUT_NAMES = ("frame", "style", "strength", "preserve")
OUTPUT_NAMES = ("stylized",)


class FrameGraph(nn.Module):
    """frame (1, H, W, 3) uint8 RGB, style (1, S) float32, strength (1,) float32 and
    preserve (1,) float32 in [0, 1] -> (1, H, W, 3) uint8 RGB.

    H and W must be multiples of ``network.spec.multiple``.
    """

    def __init__(self, network: StyleNetwork) -> None:
        super().__init__()
        self.network = network

    def forward(
        self, frame: torch.Tensor, style: torch.Tensor, strength: torch.Tensor,
        preserve: torch.Tensor,
    ) -> torch.Tensor:
        # Permute while still uint8 (a quarter of the bytes), then convert.
        image = frame.permute(0, 3, 1, 2).float() * (1.0 / 255.0)
        styled = self.network(image, style)
        out = apply_controls(styled, image, strength, preserve)
        # Round and narrow to uint8 before the layout change back, for the same reason.
        return (out * 255.0 + 0.5).to(torch.uint8).permute(0, 2, 3, 1)
