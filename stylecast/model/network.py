"""The one-step, multi-style transformation network.

One definition, two sizes:

* ``lite`` is built for live CPU use, where memory traffic of full-resolution feature maps
  costs more than arithmetic: a PixelUnshuffle stem drops to 1/4 resolution at once, the
  body is depthwise-separable residual blocks (dilated, for a wide receptive field at no
  cost), and a PixelShuffle head returns to full resolution, where one tiny 3x3 refinement
  layer sees the input again (it removes the 4x4 grid a bare PixelShuffle head leaves and
  carries fine edges across). Its other head (``head="resize"``) blends a few channels
  bilinearly up to full resolution instead and convolves them with the input there.
* ``full`` is Johnson et al. (2016) class: 9x9 stem, two strided convolutions, five
  residual blocks at 1/4 resolution, upsample-and-convolve decoder. For GPUs.

Styles enter through conditional instance normalisation (Dumoulin et al. 2017): each
normalisation layer holds one scale and shift row per style and the *style vector*
(N, S) mixes them, so one compiled graph serves every style, blends any mix of styles and
switches without reloading.

The encoder / bottleneck / decoder boundary is explicit: both sizes hand the decoder a
(N, C, H/4, W/4) feature map, which is what the temporal cache warps and blends.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

# Re-exported: the spec is torch-free so that packs and the ONNX runtimes need no torch.
from stylecast.model.spec import SIZES as SIZES
from stylecast.model.spec import NetworkSpec as NetworkSpec


class ConditionalInstanceNorm(nn.Module):
    """Instance norm whose affine scale and shift are a style-weighted mix of per-style rows."""

    def __init__(self, channels: int, num_styles: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.scale = nn.Parameter(torch.ones(num_styles, channels))
        self.shift = nn.Parameter(torch.zeros(num_styles, channels))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """x: (N, C, H, W) float; style: (N, S) float weights (rows usually sum to 1)."""
        mean = x.mean(dim=(2, 3), keepdim=True)
        var = (x - mean).pow(2).mean(dim=(2, 3), keepdim=True)
        normed = (x - mean) * torch.rsqrt(var + self.eps)
        gamma = (style @ self.scale)[:, :, None, None]
        beta = (style @ self.shift)[:, :, None, None]
        return normed * gamma + beta


class SeparableConv(nn.Module):
    """Depthwise 3x3 (optionally dilated) followed by a pointwise 1x1."""

    def __init__(self, channels: int, dilation: int = 1) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(
            channels, channels, 3, padding=dilation, dilation=dilation, groups=channels,
            padding_mode="reflect",
        )
        self.pointwise = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class ResidualBlock(nn.Module):
    """Two convolutions with conditional norms and an identity skip."""

    def __init__(self, channels: int, num_styles: int, separable: bool, dilation: int) -> None:
        super().__init__()
        if separable:
            self.conv1: nn.Module = SeparableConv(channels, dilation)
            self.conv2: nn.Module = SeparableConv(channels, 1)
        else:
            self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, padding_mode="reflect")
            self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, padding_mode="reflect")
        self.norm1 = ConditionalInstanceNorm(channels, num_styles)
        self.norm2 = ConditionalInstanceNorm(channels, num_styles)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(x), style))
        return x + self.norm2(self.conv2(y), style)


class ConvNormAct(nn.Module):
    """Convolution, conditional norm, ReLU; optional nearest 2x upsampling in front."""

    def __init__(
        self, cin: int, cout: int, kernel: int, num_styles: int, stride: int = 1,
        upsample: bool = False,
    ) -> None:
        super().__init__()
        self.upsample = upsample
        self.conv = nn.Conv2d(
            cin, cout, kernel, stride=stride, padding=kernel // 2, padding_mode="reflect"
        )
        self.norm = ConditionalInstanceNorm(cout, num_styles)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return F.relu(self.norm(self.conv(x), style))


class LiteEncoder(nn.Module):
    def __init__(self, spec: NetworkSpec) -> None:
        super().__init__()
        self.unshuffle = nn.PixelUnshuffle(4)
        self.stem = ConvNormAct(48, spec.channels, 3, spec.num_styles)

    def forward(self, image: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.stem(self.unshuffle(image), style)


class LiteDecoder(nn.Module):
    """The PixelShuffle head: each 4x4 block of the output from one feature cell."""

    def __init__(self, spec: NetworkSpec) -> None:
        super().__init__()
        self.body = ConvNormAct(spec.channels, spec.channels, 3, spec.num_styles)
        self.to_pixels = nn.Conv2d(spec.channels, 48, 1)
        self.shuffle = nn.PixelShuffle(4)
        self.refine = nn.Conv2d(6, 3, 3, padding=1, padding_mode="reflect")

    def forward(
        self, features: torch.Tensor, style: torch.Tensor, image: torch.Tensor
    ) -> torch.Tensor:
        coarse = self.shuffle(self.to_pixels(self.body(features, style)))
        return torch.sigmoid(coarse + self.refine(torch.cat((coarse, image), dim=1)))


#: Feature channels the resize head carries to full resolution. With 8 the network costs
#: 10-18 % more than with the PixelShuffle head, and 4 channels still 9 % more (OpenVINO,
#: one thread; docs/training.md): most of the cost is the full-resolution resize itself.
RESIZE_HEAD_CHANNELS = 8


class LiteResizeDecoder(nn.Module):
    """The resize-convolution head: a few channels at 1/4, bilinear x4, then one 3x3
    convolution over them and the input. Nothing is painted per 4x4 block, so there is no
    4-px grid for the strokes to follow."""

    def __init__(self, spec: NetworkSpec) -> None:
        super().__init__()
        self.body = ConvNormAct(spec.channels, spec.channels, 3, spec.num_styles)
        self.to_pixels = nn.Conv2d(spec.channels, RESIZE_HEAD_CHANNELS, 1)
        self.refine = nn.Conv2d(RESIZE_HEAD_CHANNELS + 3, 3, 3, padding=1,
                                padding_mode="reflect")

    def forward(
        self, features: torch.Tensor, style: torch.Tensor, image: torch.Tensor
    ) -> torch.Tensor:
        small = self.to_pixels(self.body(features, style))
        big = F.interpolate(small, scale_factor=4.0, mode="bilinear", align_corners=False)
        return torch.sigmoid(self.refine(torch.cat((big, image), dim=1)))


class FullEncoder(nn.Module):
    def __init__(self, spec: NetworkSpec) -> None:
        super().__init__()
        c = spec.channels
        self.layers = nn.ModuleList([
            ConvNormAct(3, c // 4, 9, spec.num_styles),
            ConvNormAct(c // 4, c // 2, 3, spec.num_styles, stride=2),
            ConvNormAct(c // 2, c, 3, spec.num_styles, stride=2),
        ])

    def forward(self, image: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        x = image
        for layer in self.layers:
            x = layer(x, style)
        return x


class FullDecoder(nn.Module):
    def __init__(self, spec: NetworkSpec) -> None:
        super().__init__()
        c = spec.channels
        self.up1 = ConvNormAct(c, c // 2, 3, spec.num_styles, upsample=True)
        self.up2 = ConvNormAct(c // 2, c // 4, 3, spec.num_styles, upsample=True)
        self.to_pixels = nn.Conv2d(c // 4, 3, 9, padding=4, padding_mode="reflect")

    def forward(
        self, features: torch.Tensor, style: torch.Tensor, image: torch.Tensor
    ) -> torch.Tensor:
        del image  # the full decoder has enough capacity not to need the input again
        return torch.sigmoid(self.to_pixels(self.up2(self.up1(features, style), style)))


_LITE_DILATIONS = (1, 2, 4, 2, 1)


class StyleNetwork(nn.Module):
    """Image (N, 3, H, W) float32 RGB in [0, 1], H and W multiples of 4, plus a style vector
    (N, S) -> stylized image of the same shape and range.

    ``encode``, ``transform`` and ``decode`` are the three stages; ``forward`` chains them.
    The tensor between ``transform`` and ``decode`` is (N, channels, H/4, W/4).
    """

    def __init__(self, spec: NetworkSpec) -> None:
        super().__init__()
        if spec.size not in SIZES:
            raise ValueError(f"network size must be one of {SIZES}, got {spec.size!r}")
        self.spec = spec
        separable = spec.size == "lite"
        dilations = _LITE_DILATIONS if separable else (1,) * spec.blocks
        self.encoder: nn.Module = LiteEncoder(spec) if separable else FullEncoder(spec)
        self.blocks = nn.ModuleList([
            ResidualBlock(spec.channels, spec.num_styles, separable, dilations[i % len(dilations)])
            for i in range(spec.blocks)
        ])
        self.decoder: nn.Module = (FullDecoder(spec) if not separable
                                   else LiteResizeDecoder(spec) if spec.head == "resize"
                                   else LiteDecoder(spec))

    @property
    def stats_channels(self) -> int:
        """K: channels over every conditional norm (the temporal graph's statistics row)."""
        return sum(m.scale.shape[1] for m in self.modules()
                   if isinstance(m, ConditionalInstanceNorm))

    def with_norms(self, make: Callable[[ConditionalInstanceNorm], nn.Module]) -> StyleNetwork:
        """A deep copy whose conditional norms are each replaced by ``make(norm)`` (which may
        share the copied norm's style tables); this network is left as it is."""
        clone = copy.deepcopy(self)
        for module in list(clone.modules()):
            for name, child in list(module.named_children()):
                if isinstance(child, ConditionalInstanceNorm):
                    setattr(module, name, make(child))
        return clone

    def encode(self, image: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.encoder(image, style)

    def transform(self, features: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            features = block(features, style)
        return features

    def decode(
        self, features: torch.Tensor, style: torch.Tensor, image: torch.Tensor
    ) -> torch.Tensor:
        return self.decoder(features, style, image)

    def forward(self, image: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.decode(self.transform(self.encode(image, style), style), style, image)
