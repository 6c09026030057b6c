"""Exact-motion sequences made from a photograph, and the bench's photo sequences."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from stylecast.tools.bench.clips import PHOTOS, photo_clips
from stylecast.tools.synthetic import KINDS, make_sequence, warp_image


def photo(seed: int, h: int = 150, w: int = 230) -> np.ndarray:
    """A smooth colour picture standing in for a photograph (tests make their own media)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 9, 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


@pytest.mark.parametrize("kind", KINDS)
def test_photo_sequence_motion_is_exact(kind: str) -> None:
    seq = make_sequence(kind, length=4, size=(96, 64), noise=0.0, photo=photo(1),
                        object_photo=photo(2))
    assert all(f.shape == (64, 96, 3) and f.dtype == np.uint8 for f in seq.frames)
    for t in range(1, 4):
        warped = warp_image(seq.frames[t - 1], seq.flows[t - 1])
        diff = np.abs(warped - seq.frames[t]).mean(-1)[seq.valid[t - 1]]
        # Zoom resamples the photo each frame; pans and the object move by whole pixels.
        assert diff.mean() < (3.0 if kind == "zoom" else 0.01), (kind, t, diff.mean())


def test_the_photo_is_what_moves() -> None:
    flat = np.zeros((120, 200, 3), np.uint8)
    flat[:] = (10, 200, 30)
    for kind in KINDS:
        seq = make_sequence(kind, length=2, size=(96, 64), noise=0.0, photo=flat,
                            object_photo=flat)
        assert np.abs(seq.frames[1].astype(int) - (10, 200, 30)).max() <= 1, kind


def test_bench_builds_photo_sequences_from_held_out_photos(tmp_path: Path) -> None:
    folder = tmp_path / PHOTOS
    folder.mkdir(parents=True)
    for i in range(3):
        cv2.imwrite(str(folder / f"{i:03d}.jpg"), photo(i))
    clips = list(photo_clips(tmp_path, (96, 64), 3, noise=2.0))
    assert [c.name for c in clips] == [f"photo {k} ({PHOTOS}/{i:03d})" for i in range(2)
                                       for k in KINDS]
    assert all(c.flow == "exact" and len(c.frames) == 3 for c in clips)
    assert list(photo_clips(tmp_path / "missing", (96, 64), 3, noise=2.0)) == []
