"""ONNX export: cache key, cache reuse, graph interface, numerics in onnxruntime."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from runtime_helpers import (
    PRESERVE,
    SPREAD,
    STRENGTH,
    STYLE,
    assert_close_to_reference,
    make_frame,
    torch_reference,
)

from stylecast.model import export
from stylecast.model.export import cache_key, export_onnx, onnx_path
from stylecast.model.network import StyleNetwork
from tests.conftest import make_network


def test_cache_key_depends_on_weights_only_when_they_change() -> None:
    first, same = make_network(seed=0, spread=SPREAD), make_network(seed=0, spread=SPREAD)
    assert cache_key(first) == cache_key(same)
    changed = copy.deepcopy(first)
    with torch.no_grad():
        changed.decoder.refine.bias[0] += 1e-3
    assert cache_key(changed) != cache_key(first)
    # Train/eval mode and device placement do not change the graph's weights.
    assert cache_key(copy.deepcopy(first).train()) == cache_key(first)


def test_cache_key_depends_on_versions_and_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    network = make_network(spread=SPREAD)
    key = cache_key(network)
    monkeypatch.setattr(export, "OPSET", export.OPSET + 1)
    assert cache_key(network) != key
    monkeypatch.undo()
    monkeypatch.setattr(export, "__version__", "999.0")
    assert cache_key(network) != key


def test_cache_lives_under_given_dir(tmp_path: Path, network: StyleNetwork) -> None:
    path = onnx_path(network, tmp_path)
    assert path.parent == tmp_path / "onnx" and path.suffix == ".onnx"


@pytest.mark.slow
def test_export_interface_and_reuse(
    network: StyleNetwork, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = export_onnx(network, cache_dir)
    model = onnx.load(str(path))
    names = [i.name for i in model.graph.input]
    assert names == ["frame", "style", "strength", "preserve"]
    frame_dims = model.graph.input[0].type.tensor_type.shape.dim
    assert frame_dims[1].dim_param and frame_dims[2].dim_param  # dynamic height and width
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["stylecast.weights_sha256"] == export.weights_digest(network)
    assert not list(path.parent.glob("*.tmp"))

    def no_second_export(*args: object, **kwargs: object) -> None:
        raise AssertionError("export ran again although the graph was cached")

    monkeypatch.setattr(torch.onnx, "export", no_second_export)
    assert export_onnx(network, cache_dir) == path


@pytest.mark.slow
def test_onnxruntime_matches_torch_at_two_sizes(network: StyleNetwork, cache_dir: Path) -> None:
    from stylecast.runtime.onnxruntime_runtime import OnnxRuntimeRuntime

    runtime = OnnxRuntimeRuntime(network=network, threads=1, cache_dir=cache_dir)
    runtime.open()
    try:
        assert runtime.info.precision == "f32"
        assert runtime._session.get_session_options().intra_op_num_threads == 1
        for height, width in ((68, 52), (132, 100)):
            frame = make_frame(height, width)
            out = runtime.infer(frame, STYLE, STRENGTH, PRESERVE)
            assert_close_to_reference(out, torch_reference(network, frame))
    finally:
        runtime.close()
    assert len(list((cache_dir / "onnx").glob("*.onnx"))) == 1  # one graph, both sizes


@pytest.mark.slow
def test_frame_shape_checked(network: StyleNetwork, cache_dir: Path) -> None:
    from stylecast.runtime.onnxruntime_runtime import OnnxRuntimeRuntime

    runtime = OnnxRuntimeRuntime(network=network, cache_dir=cache_dir)
    runtime.open()
    with pytest.raises(ValueError, match="multiples of 4"):
        runtime.infer(np.zeros((66, 52, 3), np.uint8), STYLE, 1.0, 0.0)
    with pytest.raises(ValueError, match="float32"):
        runtime.infer(np.zeros((68, 52, 3), np.uint8), STYLE.astype(np.float64), 1.0, 0.0)
    runtime.close()
    runtime.close()  # idempotent
