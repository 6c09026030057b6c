"""The training photo bank: photos held at one width, random crops, a visible load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from stylecast.errors import TrainingError
from stylecast.training.data import PhotoBank, list_images


def _photos(root: Path, count: int) -> list[Path]:
    root.mkdir(parents=True)
    for i in range(count):
        Image.fromarray(np.full((60, 120, 3), 40 * i, np.uint8)).save(root / f"{i}.png")
    return list_images([root])


def test_the_bank_holds_every_photo_at_the_width_and_shows_its_load(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bank = PhotoBank(_photos(tmp_path / "p", 3), width=64)
    assert len(bank) == 3
    assert [tuple(im.shape) for im in bank.images] == [(3, 32, 64)] * 3
    assert [int(im[0, 0, 0]) for im in bank.images] == [0, 40, 80]
    assert "loading photos" in capsys.readouterr().err


def test_crops_are_the_asked_size_even_from_a_smaller_photo(tmp_path: Path) -> None:
    bank = PhotoBank(_photos(tmp_path / "p", 2), width=64, progress=False)
    crops = bank.batch(5, 48, torch.Generator().manual_seed(0))
    assert crops.shape == (5, 3, 48, 48)
    assert float(crops.min()) >= 0.0 and float(crops.max()) <= 40 / 255 + 1e-6


def test_an_empty_or_missing_folder_is_named_in_the_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(TrainingError, match="no photos found"):
        list_images([tmp_path / "empty"])
    with pytest.raises(TrainingError, match="missing does not exist"):
        list_images([tmp_path / "missing"])
