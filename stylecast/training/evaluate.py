"""Evidence for a pack: the gallery, the controls strip and the quality table.

* gallery: every style of the pack on held-out photos (lite and full side by side when
  the pack has both). Only our renders go into the picture: no photo or painting from the
  training data is reproduced.
* controls strip: a 50/50 blend of two styles and three strengths on one photo.
* 720p crops: every style on one held-out photo painted at 1280x720 as `stylecast render`
  paints it, a crop of each at 100 % (one output pixel per picture pixel): where a fine
  texture or hatching shows, and where the gallery's small tiles would hide it.

The quality table lives in ``stylecast.training.quality``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from stylecast.model.controls import pad_to_multiple
from stylecast.model.graph import FrameGraph
from stylecast.model.pack import StylePack
from stylecast.training.data import list_images, load_rgb
from stylecast.training.sheet import save_sheet, to_uint8_hwc

log = logging.getLogger(__name__)


def _vector(pack: StylePack, weights: dict[str, float]) -> torch.Tensor:
    vec = torch.zeros(1, len(pack.styles))
    for name, w in weights.items():
        vec[0, pack.style(name).index] = w
    return vec / vec.sum()


def stylize(graph: FrameGraph, photo: torch.Tensor, style: torch.Tensor,
            strength: float = 1.0) -> torch.Tensor:
    """(1, 3, H, W) float [0, 1] -> same, any H and W (padded to the network multiple)."""
    h, w = photo.shape[-2:]
    padded = pad_to_multiple(photo, graph.network.spec.multiple)
    with torch.inference_mode():
        out = graph.paint(padded, style, torch.tensor([strength]), torch.zeros(1))
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
    graphs = {size: FrameGraph(pack.load_network(size)).eval() for size in ("lite", "full")
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
    graph = FrameGraph(pack.load_network("lite")).eval()
    image = load_cover(photo, height * 3 // 2, height)
    row1 = [stylize(graph, image, _vector(pack, w)) for w in
            ({a: 1.0}, {a: 0.5, b: 0.5}, {b: 1.0})]
    row2 = [stylize(graph, image, _vector(pack, {a: 1.0}), s) for s in (0.33, 0.66, 1.0)]
    return save_sheet([row1, row2], out)


def demo_picture(pack: StylePack, clip_frames: list[torch.Tensor], styles: list[str],
                 out: Path, width: int = 320) -> Path:
    """Rows: the built-in test source's frame (the demo scene, which stylecast draws) and
    each clip frame, in each of ``styles``."""
    from stylecast.capture import open_source

    height = width * 9 // 16 // 4 * 4
    with open_source("test", size=(width, height), live=False) as source:
        frame = next(iter(source.frames())).data
    test = torch.from_numpy(frame.copy()).permute(2, 0, 1)[None].float() / 255
    graph = FrameGraph(pack.load_network("lite")).eval()
    rows = [[test, *[stylize(graph, test, _vector(pack, {s: 1.0})) for s in styles]]]
    for clip in clip_frames:
        clip = torch.nn.functional.interpolate(clip, size=(height, width), mode="area")
        rows.append([stylize(graph, clip, _vector(pack, {s: 1.0})) for s in styles])
    return save_sheet(rows, out)


def crops_720p(pack: StylePack, photo: Path, out: Path, network: str = "lite",
               crop: tuple[int, int] = (400, 300), per_row: int = 4) -> Path:
    """Each style of ``pack`` painted on ``photo`` at 1280x720 through the render path,
    the centre ``crop`` (width, height) of each tiled ``per_row`` to a row, unscaled."""
    import numpy as np
    from PIL import Image

    from stylecast.training.quality import render_like_the_cli

    paint = render_like_the_cli(pack, network)
    image = Image.fromarray(to_uint8_hwc(load_cover(photo, 1280, 720)))
    width, height = crop
    left, top = (1280 - width) // 2, (720 - height) // 2
    tiles = []
    for info in pack.styles:
        painted = np.asarray(paint(info.name, image))[top:top + height, left:left + width]
        tiles.append(torch.from_numpy(painted.copy()).permute(2, 0, 1)[None].float() / 255)
    rows = [tiles[i:i + per_row] for i in range(0, len(tiles), per_row)]
    return save_sheet(rows, out)
