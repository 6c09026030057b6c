"""The grid-pattern penalty: it sees a mesh locked to the 4x4 blocks of the lite head, not
real content, and a training step with it lowers the mesh."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stylecast.training.losses import grid_pattern


def _scene(size: int = 128, seed: int = 0) -> torch.Tensor:
    """A photo-like picture: smooth shapes and edges at random places, (1, 3, size, size)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    image = np.zeros((3, size, size), np.float32) + 0.4
    for _ in range(12):
        cy, cx, r = rng.uniform(0, size, 2).tolist() + [rng.uniform(6, 30)]
        inside = np.hypot(yy - cy, xx - cx) < r
        image[:, inside] = rng.uniform(0, 1, (3, 1))
    image += 0.05 * np.sin(xx / 7.3 + yy / 11.1)
    return torch.from_numpy(np.clip(image, 0, 1))[None]


def _mesh(size: int, period: float, amplitude: float = 0.04) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return amplitude * torch.cos(2 * torch.pi * (xx + yy) / period).expand(1, 3, size, size)


def test_a_mesh_on_the_block_grid_scores_far_above_the_scene() -> None:
    scene = _scene()
    plain = float(grid_pattern(scene)[0])
    meshed = float(grid_pattern(scene + _mesh(128, period=4))[0])
    assert meshed > 4 * plain, (plain, meshed)


def test_a_texture_off_the_block_grid_is_not_penalised() -> None:
    # A period of 4.7 px drifts across the 4-px blocks: it averages out like real content.
    scene = _scene()
    plain = float(grid_pattern(scene)[0])
    drifting = float(grid_pattern(scene + _mesh(128, period=4.7))[0])
    on_grid = float(grid_pattern(scene + _mesh(128, period=4))[0])
    assert drifting - plain < 0.1 * (on_grid - plain), (plain, drifting, on_grid)


def test_it_is_per_image_and_needs_one_whole_tile() -> None:
    batch = torch.cat((_scene(seed=1), _scene(seed=1) + _mesh(128, period=4)))
    scores = grid_pattern(batch)
    assert scores.shape == (2,) and scores[1] > scores[0]
    with pytest.raises(ValueError, match="32x32"):
        grid_pattern(torch.zeros(1, 3, 31, 64))


def test_descending_it_removes_the_mesh_and_keeps_the_scene() -> None:
    scene, mesh = _scene(), _mesh(128, period=4)
    image = (scene + mesh).clone().requires_grad_(True)
    optimiser = torch.optim.Adam([image], lr=0.005)
    for _ in range(60):
        optimiser.zero_grad()
        grid_pattern(image).sum().backward()
        optimiser.step()
    left = image.detach() - scene
    # The mesh's own component is what goes; the scene around it barely moves.
    along_mesh = float((left * mesh).sum() / (mesh * mesh).sum())
    assert along_mesh < 0.3, along_mesh
    assert float((left - along_mesh * mesh).abs().mean()) < 0.02
