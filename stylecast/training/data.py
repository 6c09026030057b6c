"""Training photos and style images, loaded once into memory."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from stylecast.errors import TrainingError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def list_images(roots: Iterable[Path], exclude: Iterable[Path] = ()) -> list[Path]:
    """Every image under ``roots`` (recursively) that is not under an ``exclude`` folder."""
    excluded = [p.resolve() for p in exclude]
    found: list[Path] = []
    for root in roots:
        if not root.exists():
            raise TrainingError(f"content folder {root} does not exist; pass --content with "
                                "folders of photos (e.g. ../shared/data/content)")
        paths = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in paths:
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            resolved = path.resolve()
            if any(resolved.is_relative_to(ex) for ex in excluded):
                continue
            found.append(path)
    if not found:
        raise TrainingError(f"no photos found under {', '.join(map(str, roots))}")
    return found


def load_rgb(path: Path, short_side: int | None = None, width: int | None = None
             ) -> torch.Tensor:
    """Read an image as (1, 3, H, W) float32 RGB in [0, 1], optionally resized so that its
    short side or its width is the given number of pixels (aspect kept)."""
    try:
        with Image.open(path) as opened:
            im = opened.convert("RGB")
            scale = (width / im.width if width is not None
                     else short_side / min(im.size) if short_side is not None else None)
            if scale is not None:
                size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
                im = im.resize(size, Image.Resampling.LANCZOS)
            array = np.array(im, dtype=np.uint8)
    except OSError as exc:
        raise TrainingError(f"cannot read image {path}: {exc}") from exc
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).float() / 255.0


class PhotoBank:
    """All training photos in memory at a fixed width (as 8-bit, to keep a few thousand
    photos in a few GB); draws random crops as float32 in [0, 1]."""

    def __init__(self, paths: list[Path], width: int, progress: bool = True) -> None:
        from tqdm import tqdm

        self.paths = paths
        # A few thousand photos: seconds from the page cache, minutes from a cold disk.
        self.images = [(load_rgb(p, width=width)[0] * 255).round().to(torch.uint8)
                       for p in tqdm(paths, desc="loading photos", unit="photo",
                                     disable=not progress, leave=False)]

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, count: int, crop: int, generator: torch.Generator) -> torch.Tensor:
        """(count, 3, crop, crop) random crops with random horizontal flips."""
        out = []
        for _ in range(count):
            idx = int(torch.randint(len(self.images), (1,), generator=generator))
            img = self.images[idx]
            _, h, w = img.shape
            c = min(crop, h, w)
            y = int(torch.randint(h - c + 1, (1,), generator=generator))
            x = int(torch.randint(w - c + 1, (1,), generator=generator))
            patch = img[:, y:y + c, x:x + c].float() / 255.0
            if c != crop:
                patch = torch.nn.functional.interpolate(
                    patch[None], size=(crop, crop), mode="bilinear", align_corners=False)[0]
            if bool(torch.rand(1, generator=generator) < 0.5):
                patch = patch.flip(-1)
            out.append(patch)
        return torch.stack(out)
