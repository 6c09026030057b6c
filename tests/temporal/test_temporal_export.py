"""The temporal graph through ONNX: state shapes at two frame sizes, same numbers as torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from temporal_helpers import SPREAD

from stylecast.model.export import temporal_onnx_path
from stylecast.model.network import StyleNetwork
from stylecast.runtime.base import Runtime
from stylecast.runtime.pytorch import TorchRuntime
from stylecast.temporal.state import TemporalInputs
from tests.conftest import make_network

STYLE = np.array([0.6, 0.4, 0.0], np.float32)


def _state(network: StyleNetwork, height: int, width: int, seed: int) -> TemporalInputs:
    rng = np.random.default_rng(seed)
    h, w = height // 4, width // 4
    k = network.stats_channels
    return TemporalInputs(
        prev_feats=rng.normal(0, 1, (1, h, w, network.spec.channels)).astype(np.float32),
        confidence=rng.uniform(0, 1, (1, 1, h, w)).astype(np.float32),
        prev_stats=np.stack([rng.normal(0, 0.3, (1, k)), rng.uniform(0.2, 2, (1, k))],
                            1).astype(np.float32),
        stat_rate=np.array([0.3], np.float32),
    )


def _open(name: str, network: StyleNetwork, cache_dir: Path) -> Runtime:
    if name == "openvino":
        pytest.importorskip("openvino")
        from stylecast.runtime.openvino_runtime import OpenVinoRuntime

        runtime: Runtime = OpenVinoRuntime(network=network, precision="f32",
                                           cache_dir=cache_dir)
    else:
        pytest.importorskip("onnxruntime")
        from stylecast.runtime.onnxruntime_runtime import OnnxRuntimeRuntime

        runtime = OnnxRuntimeRuntime(network=network, cache_dir=cache_dir)
    runtime.open()
    return runtime


@pytest.mark.slow
@pytest.mark.parametrize("name", ["openvino", "onnxruntime"])
def test_exported_temporal_graph_matches_torch_at_two_sizes(name: str, tmp_path: Path) -> None:
    network = make_network(spread=SPREAD)
    reference = TorchRuntime(network=network)
    reference.open()
    runtime = _open(name, network, tmp_path)
    assert runtime.supports_temporal
    try:
        for (height, width), seed in (((48, 64), 1), ((72, 40), 2)):
            frame = np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)
            state = _state(network, height, width, seed)
            state.check(network.spec.channels, network.stats_channels, height // 4, width // 4)
            want, want_state = reference.infer_temporal(frame, STYLE, 0.8, 0.3, state)
            got, got_state = runtime.infer_temporal(frame, STYLE, 0.8, 0.3, state)
            assert got.shape == (height, width, 3) and got.dtype == np.uint8
            assert got_state.features.shape == state.prev_feats.shape
            assert got_state.stats.shape == state.prev_stats.shape
            assert np.abs(got.astype(int) - want).max() <= 1
            np.testing.assert_allclose(got_state.features, want_state.features, atol=1e-3)
            np.testing.assert_allclose(got_state.stats, want_state.stats, atol=1e-3, rtol=1e-4)
    finally:
        runtime.close()
    # One export, keyed apart from the plain graph's.
    path = temporal_onnx_path(network, tmp_path)
    assert path.is_file()
    # Ops that OpenVINO ran as extra passes or in reference code: channel slices (the luma of
    # colour preservation) and torch.lerp's Less/Where branches (the feature blend). The
    # only slices allowed are each norm's share of the (1, 2, K) statistics rows.
    onnx = pytest.importorskip("onnx")
    nodes = onnx.load(str(path)).graph.node
    assert not {node.op_type for node in nodes} & {"Split", "Less", "Where"}
    made_by = {output: node for node in nodes for output in node.output}
    sliced = {(made_by[n.input[0]].op_type, made_by[n.input[0]].input[0])
              for n in nodes if n.op_type == "Slice"}
    assert sliced == {("Gather", "prev_stats")}, sliced


def test_temporal_inputs_check_names_the_bad_array() -> None:
    network = make_network(spread=SPREAD)
    state = TemporalInputs.empty(16, network.stats_channels, 12, 16)
    state.check(16, network.stats_channels, 12, 16)
    with pytest.raises(ValueError, match="prev_feats"):
        state.check(32, network.stats_channels, 12, 16)


@pytest.mark.slow
def test_openvino_cache_matches_torch_over_a_sequence(tmp_path: Path) -> None:
    # OpenVINO hands the cache its features as a view of its output buffer, which the next
    # frame overwrites: if the cache kept that view too long, frames would drift from torch.
    from stylecast.temporal.cache import TemporalCache
    from stylecast.tools.synthetic import make_sequence

    network = make_network(spread=SPREAD)
    reference = TorchRuntime(network=network)
    reference.open()
    runtime = _open("openvino", network, tmp_path)
    frames = make_sequence("pan", length=6, size=(64, 48), noise=2.0).frames
    try:
        ours, theirs = TemporalCache(runtime), TemporalCache(reference)
        for frame in frames:
            got = ours.stylize(frame, STYLE, 1.0, 0.0).astype(int)
            want = theirs.stylize(frame, STYLE, 1.0, 0.0)
            assert np.abs(got - want).max() <= 2
        assert ours.stats.frames == len(frames) and ours.stats.static_frames == 0
    finally:
        runtime.close()
