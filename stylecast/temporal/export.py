"""ONNX export of ``TemporalFrameGraph``, cached beside the plain graph's export.

Same cache, same atomic write and the same key fields as :mod:`stylecast.model.export`,
plus ``graph=temporal`` and its own format number, so the two graphs never share a file.
Height and width are dynamic (one symbol each, shared by the frame and the 1/4-resolution
state tensors).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from torch.export import Dim

from stylecast.model import export as plain_export
from stylecast.model.network import StyleNetwork
from stylecast.model.spec import TEMPORAL_GRAPH_FORMAT
from stylecast.temporal.graph import INPUT_NAMES, OUTPUT_NAMES, TemporalFrameGraph

_MAX_SIDE = 8192
_EXAMPLE_HW = (64, 96)


def temporal_graph_fields(network: StyleNetwork) -> dict[str, str]:
    """Every field that changes the exported temporal graph; also stored as ONNX metadata."""
    return {**plain_export.graph_fields(network), "graph": "temporal",
            "temporal_graph_format": str(TEMPORAL_GRAPH_FORMAT)}


def temporal_onnx_path(network: StyleNetwork, cache_dir: Path | None = None) -> Path:
    """``<cache_dir>/onnx/<size>-temporal-<key>.onnx`` (whether or not it exists yet)."""
    payload = json.dumps(temporal_graph_fields(network), sort_keys=True).encode()
    key = hashlib.sha256(payload).hexdigest()[:32]
    root = plain_export.default_cache_dir() if cache_dir is None else Path(cache_dir)
    return root / "onnx" / f"{network.spec.size}-temporal-{key}.onnx"


def export_temporal_onnx(network: StyleNetwork, cache_dir: Path | None = None) -> Path:
    """Export ``TemporalFrameGraph(network)`` to ONNX unless an identical export is cached.

    Args:
        network: the network to export (left as found).
        cache_dir: root of the stylecast cache; the user cache directory when None.

    Returns:
        Path of the ONNX file; inputs and outputs as in :mod:`stylecast.temporal.graph`,
        H and W dynamic (multiples of ``network.spec.multiple``).

    Raises:
        EngineBuildError: the exporter failed or the file could not be written.
    """
    return plain_export.export_cached(
        temporal_onnx_path(network, cache_dir), temporal_graph_fields(network),
        lambda: _export_program(network), what=f"the temporal {network.spec.size} graph",
        hint="; or run with --no-temporal")


def write_temporal_onnx(network: StyleNetwork, path: Path) -> Path:
    """Export ``TemporalFrameGraph(network)`` to ``path`` (a style pack's graph), uncached.

    Raises:
        EngineBuildError: the exporter failed or the file could not be written.
    """
    return plain_export.write_export(
        path, temporal_graph_fields(network), lambda: _export_program(network),
        what=f"the temporal {network.spec.size} graph")


def _export_program(network: StyleNetwork) -> torch.onnx.ONNXProgram:
    multiple = network.spec.multiple
    if multiple != 4:
        raise RuntimeError(f"the temporal graph assumes features at 1/4 resolution; this "
                           f"network needs multiples of {multiple}")
    height = Dim("height_blocks", min=2, max=_MAX_SIDE // multiple)
    width = Dim("width_blocks", min=2, max=_MAX_SIDE // multiple)
    dynamic_shapes = {
        "frame": {1: multiple * height, 2: multiple * width},
        "style": None, "strength": None, "preserve": None,
        "prev_feats": {1: height, 2: width}, "confidence": {2: height, 3: width},
        "prev_stats": None, "stat_rate": None,
    }
    graph = TemporalFrameGraph(network).eval().to(next(network.parameters()).device)
    device = next(graph.parameters()).device
    h, w = _EXAMPLE_HW[0] // multiple, _EXAMPLE_HW[1] // multiple
    num_styles = network.spec.num_styles
    example = (
        torch.zeros((1, *_EXAMPLE_HW, 3), dtype=torch.uint8, device=device),
        torch.full((1, num_styles), 1.0 / num_styles, device=device),
        torch.ones(1, device=device), torch.zeros(1, device=device),
        torch.zeros((1, h, w, graph.channels), device=device),
        torch.zeros((1, 1, h, w), device=device),
        torch.zeros((1, 2, graph.stats_channels), device=device),
        torch.ones(1, device=device),
    )
    program = torch.onnx.export(
        graph, example, dynamo=True, dynamic_shapes=dynamic_shapes,
        input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES),
        opset_version=plain_export.OPSET, external_data=False, verbose=False,
    )
    if program is None:
        raise RuntimeError("torch.onnx.export returned no program")
    return program
