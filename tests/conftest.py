"""Shared fixtures: tiny networks and packs made at test time (nothing from ../shared)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from stylecast.model.network import NetworkSpec, StyleNetwork
from stylecast.model.pack import write_network

TINY = NetworkSpec(size="lite", num_styles=3, channels=16, blocks=2)
STYLE_NAMES = ("alpha", "beta", "gamma")


def make_network(spec: NetworkSpec = TINY, seed: int = 0, spread: float = 0.8) -> StyleNetwork:
    """A random network whose styles differ (random norm rows, ``spread`` around 1 and 0)."""
    torch.manual_seed(seed)
    net = StyleNetwork(spec)
    with torch.no_grad():
        for name, param in net.named_parameters():
            if name.endswith(".scale"):
                param.copy_(1 + spread * torch.randn_like(param))
            elif name.endswith(".shift"):
                param.copy_(spread * torch.randn_like(param))
    return net.eval()


def make_pack(root: Path, spec: NetworkSpec = TINY, name: str = "testpack",
              graphs: bool = False) -> Path:
    """Write a pack with ``spec.num_styles`` styles named alpha, beta, gamma, ...; without
    its ONNX graphs unless asked (exporting them takes seconds; the runtimes export and
    cache the tiny network's once instead, as for a pack made before packs had graphs)."""
    base = {
        "pack": name, "description": "made by the tests",
        "styles": [{"name": STYLE_NAMES[i] if i < 3 else f"style{i}", "title": f"Title {i}",
                    "artist": f"Artist {i}", "year": 1900 + i, "basis": "test fixture"}
                   for i in range(spec.num_styles)],
    }
    write_network(root, base, make_network(spec), {"steps": 0, "command": "fixture"},
                  graphs=graphs)
    return root


@pytest.fixture
def tiny_pack(tmp_path: Path) -> Path:
    return make_pack(tmp_path / "testpack")


@pytest.fixture
def styles_env(tiny_pack: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the tiny pack the only installed pack."""
    monkeypatch.setenv("STYLECAST_STYLES", str(tiny_pack.parent))
    monkeypatch.setattr("stylecast.styles.shipped_styles_dir", lambda: tiny_pack.parent / "none")
    nowhere = str(tiny_pack.parent / "none")
    monkeypatch.setattr("platformdirs.user_data_dir", lambda *a, **k: nowhere)
    return tiny_pack


def assert_onnx_runtimes_paint_as(module: StyleNetwork, network: Any, cache_dir: Path) -> None:
    """``network`` (a pack's lite entry) paints a frame on OpenVINO and onnxruntime within
    one level of ``module`` in torch, from the pack's own graph: nothing is exported."""
    import numpy as np

    from stylecast.model.graph import FrameGraph
    from stylecast.runtime import open_runtime

    frame = np.random.default_rng(0).integers(0, 256, (36, 52, 3), dtype=np.uint8)
    style = np.array([0.2, 0.8, 0.0], dtype=np.float32)
    with torch.inference_mode():
        expected = FrameGraph(module)(
            torch.from_numpy(frame)[None], torch.from_numpy(style)[None], torch.ones(1),
            torch.zeros(1))[0].numpy()
    for name in ("openvino", "onnxruntime"):
        runtime = open_runtime(name, network=network, precision="f32", cache_dir=cache_dir)
        try:
            got = runtime.infer(frame, style, 1.0, 0.0)
        finally:
            runtime.close()
        assert np.abs(got.astype(int) - expected).max() <= 1, name
    assert not (cache_dir / "onnx").exists(), "a graph was exported although the pack has it"
