"""The 720p crops of `stylecast evaluate --crops`: unscaled pixels of the render path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from stylecast.model.pack import load_pack
from stylecast.training import evaluate as ev
from stylecast.training.quality import render_like_the_cli
from stylecast.training.sheet import to_uint8_hwc


def test_crops_are_the_render_paths_own_pixels_at_100_percent(tiny_pack: Path,
                                                                tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    photo = tmp_path / "photo.png"
    yy, xx = np.mgrid[0:360, 0:640]
    picture = np.stack([xx % 256, yy % 256, (xx + yy) % 256], -1)
    picture = picture + rng.integers(0, 30, (360, 640, 3))
    Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8)).save(photo)
    pack = load_pack(tiny_pack)

    out = ev.crops_720p(pack, photo, tmp_path / "crops.png", crop=(120, 80), per_row=2)
    sheet = np.asarray(Image.open(out))
    assert sheet.shape == (80 + 4 + 80, 120 + 4 + 120, 3)  # 3 styles: 2 rows, white gaps

    # Each tile is the 1280x720 render's centre, not a resized one.
    paint = render_like_the_cli(pack, "lite")
    image = Image.fromarray(to_uint8_hwc(ev.load_cover(photo, 1280, 720)))
    tiles = [sheet[:80, :120], sheet[:80, 124:], sheet[84:, :120]]
    for info, tile in zip(pack.styles, tiles, strict=True):
        full = np.asarray(paint(info.name, image))
        assert full.shape == (720, 1280, 3)
        assert np.array_equal(tile, full[320:400, 580:700]), info.name
    assert not np.array_equal(tiles[0], tiles[1])  # the styles differ
    assert (sheet[80:84] == 255).all()
