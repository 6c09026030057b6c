"""--temporal-motion shift: the temporal term's whole-pixel moves."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from stylecast.errors import TrainingError
from stylecast.training import losses


def _images() -> torch.Tensor:
    return torch.rand(6, 3, 40, 48, generator=torch.Generator().manual_seed(5))


def test_a_shift_moves_every_pixel_by_whole_pixels_exactly() -> None:
    images = _images()
    _, grid, valid = losses.random_shift(images, torch.Generator().manual_seed(1), noise=0.0)
    moved = F.grid_sample(images, grid, padding_mode="border", align_corners=False)
    for i in range(len(images)):
        # The grid samples pixel centres: read back as a whole-pixel offset, per sample.
        dx = float((grid[i, 0, 0, 0] + 1) * 48 / 2 - 0.5)
        dy = float((grid[i, 0, 0, 1] + 1) * 40 / 2 - 0.5)
        assert dx == pytest.approx(round(dx), abs=1e-4)
        assert dy == pytest.approx(round(dy), abs=1e-4)
        sx, sy = -round(dx), -round(dy)  # the content moves by (sx, sy)
        assert 1 <= abs(sx) <= 3 and 1 <= abs(sy) <= 3
        expected = torch.roll(images[i], shifts=(sy, sx), dims=(1, 2))
        mask = valid[i, 0] > 0
        assert mask.sum() > 0
        assert torch.allclose(moved[i][:, mask], expected[:, mask], atol=1e-5)


def test_the_mask_leaves_out_the_uncovered_side_and_the_edges() -> None:
    images = _images()
    _, grid, valid = losses.random_shift(images, torch.Generator().manual_seed(2), margin=8)
    assert valid[..., :8, :].sum() == 0 and valid[..., -8:, :].sum() == 0
    assert valid[..., :8].sum() == 0 and valid[..., -8:].sum() == 0
    # Inside the margin everything is kept: a 3-px move uncovers less than 8 px.
    assert bool((valid[..., 8:-8, 8:-8] == 1).all())


def test_the_frame_carries_sensor_noise() -> None:
    images = _images()
    moved, grid, valid = losses.random_shift(images, torch.Generator().manual_seed(3),
                                             noise=0.02)
    clean = F.grid_sample(images, grid, padding_mode="border", align_corners=False)
    spread = float((moved - clean)[valid.expand_as(moved) > 0].std())
    assert 0.01 < spread < 0.03


def test_the_trainer_refuses_an_unknown_motion(tmp_path: Path) -> None:
    from stylecast.training.train import TrainConfig, Trainer

    with pytest.raises(TrainingError, match="--temporal-motion 'spin': give one of affine"):
        Trainer(TrainConfig(recipe=tmp_path / "recipe.toml", data=tmp_path,
                            run_dir=tmp_path / "r", pack_dir=tmp_path / "p",
                            temporal_motion="spin"))
