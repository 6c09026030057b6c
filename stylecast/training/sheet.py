"""Contact sheets: rows of images tiled into one PNG (training samples, the gallery)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image


def to_uint8_hwc(image: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) or (3, H, W) float RGB in [0, 1] -> (H, W, 3) uint8."""
    if image.dim() == 4:
        image = image[0]
    return (image.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).numpy()


def save_sheet(rows: list[list[torch.Tensor]], path: Path, gap: int = 4) -> Path:
    """Tile ``rows`` of images (each row's images the same height) into a white-gapped PNG."""
    tiles = [[to_uint8_hwc(img) for img in row] for row in rows]
    width = max(sum(t.shape[1] for t in row) + gap * (len(row) - 1) for row in tiles)
    height = sum(row[0].shape[0] for row in tiles) + gap * (len(tiles) - 1)
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    y = 0
    for row in tiles:
        x = 0
        for tile in row:
            h, w = tile.shape[:2]
            canvas[y:y + h, x:x + w] = tile
            x += w + gap
        y += row[0].shape[0] + gap
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(canvas).save(path)
    return path
