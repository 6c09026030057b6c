"""The frame graph as the CUDA runtime runs it: one compute dtype, controls in one tensor.

``FrameGraph`` (the graph every exported runtime runs) computes in float32 and takes the
style vector, strength and colour preservation as three inputs. On a GPU two things differ:

* the network runs in f16 (or f32): its weights are converted once, when the graph is built,
  and the uint8 frame is converted straight to the compute dtype;
* the controls arrive as one (1, S + 2) float32 tensor, so a frame needs one small upload
  for them and a captured CUDA graph reads them from one static tensor: changing style,
  strength or preservation is a copy into it, never a recapture.

Instance-norm statistics accumulate and stay in float32 even for f16 activations:
``ConditionalInstanceNorm``'s ``(x - mean).pow(2)`` overflows f16 once one activation is
256 from its mean, and even a float32-accumulated variance overflows f16 once the standard
deviation passes 256. Only the centred activations and the output are f16. The variance is
the same (population) variance as there.
"""

from __future__ import annotations

import torch
from torch import nn

from stylecast.model.graph import FrameGraph
from stylecast.model.network import ConditionalInstanceNorm, StyleNetwork


class F32StatsInstanceNorm(nn.Module):
    """``ConditionalInstanceNorm`` with float32 statistics; shares the style tables."""

    def __init__(self, norm: ConditionalInstanceNorm) -> None:
        super().__init__()
        self.eps = norm.eps
        self.scale = norm.scale
        self.shift = norm.shift

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """x: (N, C, H, W) float16 or float32; style: (N, S) of the same dtype."""
        # dtype=: the reductions read x as it is and accumulate and return float32.
        mean = x.mean(dim=(2, 3), keepdim=True, dtype=torch.float32)
        centred = x - mean.to(x.dtype)
        norm = torch.linalg.vector_norm(centred, dim=(2, 3), keepdim=True,
                                        dtype=torch.float32)
        var = norm.square() * (1.0 / (x.shape[2] * x.shape[3]))
        normed = centred * torch.rsqrt(var + self.eps).to(x.dtype)
        gamma = (style @ self.scale)[:, :, None, None]
        beta = (style @ self.shift)[:, :, None, None]
        return normed * gamma + beta


def device_network(network: StyleNetwork, dtype: torch.dtype,
                   device: torch.device | str) -> StyleNetwork:
    """A copy of ``network`` on ``device`` in ``dtype`` with float32 norm statistics; the
    original stays where it was."""
    clone = network.with_norms(F32StatsInstanceNorm)
    return clone.to(device=device, dtype=dtype).eval()


class DeviceFrameGraph(FrameGraph):
    """frame (1, H, W, 3) uint8 RGB and controls (1, S + 2) float32 -> (1, H, W, 3) uint8 RGB.

    ``FrameGraph`` with its three control inputs in one tensor: ``controls`` holds the style
    weights (S), then strength and colour preservation, each in [0, 1]. Inputs and output
    live on the network's device; the output is contiguous, so it downloads with one plain
    copy. H and W must be multiples of ``network.spec.multiple``.

    Args:
        network: the network, already on its device and in ``dtype`` (``device_network``).
        dtype: the compute dtype, torch.float16 or torch.float32.
    """

    def __init__(self, network: StyleNetwork, dtype: torch.dtype) -> None:
        super().__init__(network, dtype)
        self.num_styles = network.spec.num_styles

    # A different signature on purpose: the captured CUDA graph reads one controls tensor.
    def forward(  # type: ignore[override]
            self, frame: torch.Tensor, controls: torch.Tensor) -> torch.Tensor:
        values = controls.to(self.dtype)
        styles = self.num_styles
        style, strength, preserve = (values[:, :styles], values[:, styles],
                                     values[:, styles + 1])
        return super().forward(frame, style, strength, preserve).contiguous()


def pack_controls(style: torch.Tensor, strength: float, preserve: float) -> torch.Tensor:
    """(S,) float32 style weights, strength and preserve -> (1, S + 2) float32 controls."""
    tail = torch.tensor([strength, preserve], dtype=torch.float32)
    return torch.cat((style.to(torch.float32), tail))[None]
