"""The frame-in, frame-out graph every runtime executes: the one wrapper of the network
and its controls.

Camera frames are uint8 (H, W, 3) RGB; so is what every sink wants. Doing the uint8 <->
float conversion and the HWC <-> CHW layout change *inside* the graph lets OpenVINO and
TensorRT fuse them into the first and last layers instead of paying for separate full-frame
passes in numpy (../shared/notes/cpu-inference-and-packaging.md measures 8-10 ms for a
careless conversion chain at 720p). The temporal graph (``stylecast.temporal.graph``) and
the CUDA runtime's graph (``stylecast.runtime.torch_cuda.device_graph``) are this graph
with more inputs; ``paint`` is the float core that evaluation calls directly.
"""

from __future__ import annotations

import torch
from torch import nn

from stylecast.model.controls import apply_controls
from stylecast.model.network import StyleNetwork

INPUT_NAMES = ("frame", "style", "strength", "preserve")
OUTPUT_NAMES = ("stylized",)


def frame_to_image(frame: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(N, H, W, 3) uint8 RGB -> (N, 3, H, W) ``dtype`` in [0, 1]."""
    # Permute while still uint8 (a quarter of the bytes), then convert.
    return frame.permute(0, 3, 1, 2).to(dtype) * (1.0 / 255.0)


def image_to_frame(image: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) float in [0, 1] -> (N, H, W, 3) uint8 RGB, rounded."""
    # Round and narrow to uint8 before the layout change back, for the same reason.
    return (image * 255.0 + 0.5).to(torch.uint8).permute(0, 2, 3, 1)


class FrameGraph(nn.Module):
    """frame (1, H, W, 3) uint8 RGB, style (1, S) float32, strength (1,) float32 and
    preserve (1,) float32 in [0, 1] -> (1, H, W, 3) uint8 RGB.

    H and W must be multiples of ``network.spec.multiple``.

    Args:
        network: the network (shared, not copied).
        dtype: the compute dtype the frame is converted to (the CUDA runtime's f16).
    """

    INPUT_NAMES: tuple[str, ...] = INPUT_NAMES
    OUTPUT_NAMES: tuple[str, ...] = OUTPUT_NAMES

    def __init__(self, network: StyleNetwork, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.network = network
        self.dtype = dtype

    def paint(self, image: torch.Tensor, style: torch.Tensor, strength: torch.Tensor,
              preserve: torch.Tensor) -> torch.Tensor:
        """image (N, 3, H, W) float RGB in [0, 1], style (N, S), strength (N,) and preserve
        (N,) in [0, 1] -> (N, 3, H, W) float RGB in [0, 1]: the network, then the controls."""
        return apply_controls(self.network(image, style), image, strength, preserve)

    def forward(
        self, frame: torch.Tensor, style: torch.Tensor, strength: torch.Tensor,
        preserve: torch.Tensor,
    ) -> torch.Tensor:
        image = frame_to_image(frame, self.dtype)
        return image_to_frame(self.paint(image, style, strength, preserve))
