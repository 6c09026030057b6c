"""The brush size: which size the network runs at, and that strokes really grow with it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stylecast.engine.mixer import StyleMixer
from stylecast.engine.size import CPU_LIVE_PIXELS, stroke_process_size
from stylecast.engine.stylizer import Stylizer
from stylecast.errors import ConfigError
from stylecast.model.network import NetworkSpec, StyleNetwork
from stylecast.runtime.pytorch import TorchRuntime


def test_stroke_size_keeps_the_paintings_proportions_and_the_frames_shape() -> None:
    assert stroke_process_size((1280, 720), 512, 1.0) == (512, 288)
    assert stroke_process_size((1920, 1080), 512, 1.0) == (512, 288)
    assert stroke_process_size((1280, 720), 512, 2.0) == (256, 144)
    assert stroke_process_size((1280, 720), 512, 0.5) == (1024, 576)
    # A frame already narrower than the stroke width runs at its own size.
    assert stroke_process_size((320, 180), 512, 1.0) == (320, 180)
    # Slider values land on 16-px steps, so dragging compiles few sizes.
    widths = {stroke_process_size((1280, 720), 512, s / 100)[0] for s in range(80, 121)}
    assert all(w % 16 == 0 for w in widths) and len(widths) <= 15  # not 41


@pytest.mark.parametrize("bad", [0.1, 0.0, -1.0, 5.0])
def test_stroke_scale_out_of_range_is_refused_with_the_range(bad: float) -> None:
    with pytest.raises(ConfigError, match=r"0\.25\.\.4\.0"):
        stroke_process_size((1280, 720), 512, bad)


def _stylizer(**kwargs: object) -> Stylizer:
    torch.manual_seed(0)
    network = StyleNetwork(NetworkSpec.preset("lite", 2)).eval()
    runtime = TorchRuntime(network=network)
    runtime.open()
    return Stylizer(runtime, StyleMixer(["a", "b"], {"a": 1.0}), temporal=False, **kwargs)


def test_network_size_explicit_process_size_wins_and_live_cap_applies() -> None:
    stylizer = _stylizer(reference_width=512)
    assert stylizer.network_size((1280, 720)) == (512, 288)
    stylizer.stroke_scale = 0.5
    assert stylizer.network_size((1280, 720)) == (1024, 576)
    stylizer.live_pixels = CPU_LIVE_PIXELS  # `run` on a CPU: at most ~480x272
    assert stylizer.network_size((1280, 720)) == (480, 268)
    with pytest.raises(ConfigError):
        stylizer.stroke_scale = 8.0
    assert stylizer.stroke_scale == 0.5  # a refused value changes nothing
    explicit = _stylizer(reference_width=512, process_size=(640, 360))
    assert explicit.network_size((1280, 720)) == (640, 360)
    legacy = _stylizer()  # packs without a reference width: the frame's own size
    assert legacy.network_size((1280, 720)) == (1280, 720)


def _detail(image: np.ndarray) -> float:
    """Mean absolute difference between horizontal neighbours: high for fine strokes."""
    grey = image.astype(np.float32).mean(axis=2)
    return float(np.abs(np.diff(grey, axis=1)).mean())


def test_larger_strokes_give_a_coarser_picture() -> None:
    rng = np.random.default_rng(3)
    frame = (rng.random((144, 256, 3)) * 255).astype(np.uint8)
    fine = _stylizer(reference_width=256, stroke_scale=1.0, upsample="bilinear")
    coarse = _stylizer(reference_width=256, stroke_scale=4.0, upsample="bilinear")
    fine_out, coarse_out = fine.stylize_array(frame), coarse.stylize_array(frame)
    assert fine_out.shape == coarse_out.shape == frame.shape
    # At 4x the strokes the network paints at 64 px wide and is upsampled 4x: far less
    # pixel-to-pixel detail than the same network run at the frame's own width.
    assert _detail(coarse_out) < 0.5 * _detail(fine_out)
