"""ONNX export of ``FrameGraph`` and ``TemporalFrameGraph``, cached on disk by a key over
everything that shapes the graph.

The exported graph takes the camera frame as uint8 (1, H, W, 3) with H and W dynamic
(multiples of ``network.spec.multiple``), plus the style vector (1, S), strength (1,) and
preserve (1,) as float32 inputs, so one file serves every frame size, style mix and control
setting. OpenVINO and onnxruntime read it; TensorRT will build its engines from it.

Export runs the dynamo exporter (``torch.export`` underneath) and takes seconds, so the file
is cached under ``platformdirs.user_cache_dir("stylecast")/onnx/`` and written atomically:
a reader never sees a half-written file, and two processes exporting at once both end with
the same complete file. The temporal graph is cached beside it with ``graph=temporal`` and
its own format number in the key, so the two graphs never share a file; its height and width
are dynamic too (one symbol each, shared by the frame and the 1/4-resolution state tensors).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import platformdirs
import torch
from torch.export import Dim

from stylecast import __version__
from stylecast.errors import EngineBuildError
from stylecast.fileio import atomic_path
from stylecast.model.graph import FrameGraph
from stylecast.model.network import StyleNetwork
from stylecast.model.spec import GRAPH_FORMAT, OPSET, TEMPORAL_GRAPH_FORMAT
from stylecast.runtime.quiet import quiet_exporter

logger = logging.getLogger(__name__)

# OPSET and GRAPH_FORMAT live in the torch-free spec module: a pack records the format its
# shipped graph has, and the ONNX runtimes read that without torch.
# Largest frame side the dynamic dimensions admit (8K plus headroom).
_MAX_SIDE = 8192
# Example frame used for tracing; H != W so the exporter cannot conclude they are equal.
_EXAMPLE_HW = (64, 96)


def default_cache_dir() -> Path:
    """The stylecast user cache directory (platform specific, never a literal ``~``)."""
    return Path(platformdirs.user_cache_dir("stylecast"))


def weights_digest(network: torch.nn.Module) -> str:
    """SHA-256 over the names, dtypes, shapes and raw bytes of ``network.state_dict()``."""
    digest = hashlib.sha256()
    for name, tensor in sorted(network.state_dict().items()):
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{name}|{flat.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def graph_fields(network: StyleNetwork) -> dict[str, str]:
    """Every field that changes the exported graph; also stored as ONNX metadata."""
    return {
        "graph_format": str(GRAPH_FORMAT),
        "network_spec": json.dumps(dataclasses.asdict(network.spec), sort_keys=True),
        "weights_sha256": weights_digest(network),
        "stylecast_version": __version__,
        "torch_version": torch.__version__,
        # The exporter's graph optimiser lives in onnxscript, so its version matters too.
        "onnxscript_version": _package_version("onnxscript"),
        "opset": str(OPSET),
    }


def cache_key(network: StyleNetwork) -> str:
    """Hex key that changes exactly when a field in ``graph_fields`` changes."""
    payload = json.dumps(graph_fields(network), sort_keys=True).encode()
    return hashlib.sha256(payload).hexdigest()[:32]


def onnx_path(network: StyleNetwork, cache_dir: Path | None = None) -> Path:
    """Where the export of ``network`` lives (whether or not it exists yet).

    Args:
        network: the network to export.
        cache_dir: root of the stylecast cache; the user cache directory when None.

    Returns:
        ``<cache_dir>/onnx/<size>-<key>.onnx``.
    """
    root = default_cache_dir() if cache_dir is None else Path(cache_dir)
    return root / "onnx" / f"{network.spec.size}-{cache_key(network)}.onnx"


def temporal_graph_fields(network: StyleNetwork) -> dict[str, str]:
    """Every field that changes the exported temporal graph; also stored as ONNX metadata."""
    return {**graph_fields(network), "graph": "temporal",
            "temporal_graph_format": str(TEMPORAL_GRAPH_FORMAT)}


def temporal_onnx_path(network: StyleNetwork, cache_dir: Path | None = None) -> Path:
    """``<cache_dir>/onnx/<size>-temporal-<key>.onnx`` (whether or not it exists yet)."""
    payload = json.dumps(temporal_graph_fields(network), sort_keys=True).encode()
    key = hashlib.sha256(payload).hexdigest()[:32]
    root = default_cache_dir() if cache_dir is None else Path(cache_dir)
    return root / "onnx" / f"{network.spec.size}-temporal-{key}.onnx"


def export_onnx(network: StyleNetwork, cache_dir: Path | None = None) -> Path:
    """Export ``FrameGraph(network)`` to ONNX unless an identical export is cached.

    Args:
        network: the network to export; on any device, in any mode (it is left as found).
        cache_dir: root of the stylecast cache; the user cache directory when None.

    Returns:
        Path of the ONNX file, with inputs ``frame`` uint8 (1, H, W, 3) (H, W dynamic,
        multiples of ``network.spec.multiple``), ``style`` float32 (1, S), ``strength`` and
        ``preserve`` float32 (1,), and output ``stylized`` uint8 (1, H, W, 3).

    Raises:
        EngineBuildError: the exporter failed or the file could not be written.
    """
    return export_cached(
        onnx_path(network, cache_dir), graph_fields(network), lambda: _export_program(network),
        what=f"the {network.spec.size} network")


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
    return export_cached(
        temporal_onnx_path(network, cache_dir), temporal_graph_fields(network),
        lambda: _export_program(network, temporal=True),
        what=f"the temporal {network.spec.size} graph", hint="; or run with --no-temporal")


def export_cached(
    path: Path, fields: dict[str, str], build: Callable[[], torch.onnx.ONNXProgram], *,
    what: str, hint: str = "",
) -> Path:
    """Export with ``build()`` to ``path`` unless the file is already there (the path holds
    the cache key), recording ``fields`` as metadata; atomic, so readers never see half a
    file. Raises EngineBuildError naming ``what`` failed, plus ``hint``."""
    if path.is_file():
        logger.debug("reusing cached ONNX export %s", path)
        return path
    logger.info("exporting %s to ONNX (once per network; cached at %s)", what, path)
    return write_export(path, fields, build, what=what, hint=hint)


def write_export(
    path: Path, fields: dict[str, str], build: Callable[[], torch.onnx.ONNXProgram], *,
    what: str, hint: str = "",
) -> Path:
    """Export with ``build()`` to ``path`` (replacing it atomically), recording ``fields``
    as metadata. Raises EngineBuildError naming ``what`` failed, plus ``hint``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with quiet_exporter():  # its chatter is for torch developers, not for users
            program = build()
            program.model.metadata_props.update(
                {f"stylecast.{k}": v for k, v in fields.items()})
            with atomic_path(path) as tmp:
                program.save(str(tmp), external_data=False)
    except (RuntimeError, OSError) as exc:
        # torch.onnx.OnnxExporterError and torch.export's errors are RuntimeError subclasses.
        raise EngineBuildError(
            f"ONNX export of {what} failed: {exc}. Check that torch ({torch.__version__}) and "
            f"onnxscript are installed together as pinned, and that {path.parent} is "
            f"writable{hint}."
        ) from exc
    return path


def write_onnx(network: StyleNetwork, path: Path) -> Path:
    """Export ``FrameGraph(network)`` to ``path`` (a style pack's graph), uncached.

    Raises:
        EngineBuildError: the exporter failed or the file could not be written.
    """
    return write_export(path, graph_fields(network), lambda: _export_program(network),
                        what=f"the {network.spec.size} network")


def write_temporal_onnx(network: StyleNetwork, path: Path) -> Path:
    """Export ``TemporalFrameGraph(network)`` to ``path`` (a style pack's graph), uncached.

    Raises:
        EngineBuildError: the exporter failed or the file could not be written.
    """
    return write_export(path, temporal_graph_fields(network),
                        lambda: _export_program(network, temporal=True),
                        what=f"the temporal {network.spec.size} graph")


def _export_program(network: StyleNetwork, *, temporal: bool = False) -> torch.onnx.ONNXProgram:
    """Trace ``FrameGraph(network)`` (or the temporal graph) with H and W dynamic."""
    multiple = network.spec.multiple
    if temporal and multiple != 4:
        raise RuntimeError(f"the temporal graph assumes features at 1/4 resolution; this "
                           f"network needs multiples of {multiple}")
    height = Dim("height_blocks", min=2, max=_MAX_SIDE // multiple)
    width = Dim("width_blocks", min=2, max=_MAX_SIDE // multiple)
    dynamic_shapes: dict[str, dict[int, Any] | None] = {
        "frame": {1: multiple * height, 2: multiple * width},
        "style": None, "strength": None, "preserve": None,
    }
    device = next(network.parameters()).device
    num_styles = network.spec.num_styles
    example: tuple[torch.Tensor, ...] = (
        torch.zeros((1, *_EXAMPLE_HW, 3), dtype=torch.uint8, device=device),
        torch.full((1, num_styles), 1.0 / num_styles, device=device),
        torch.ones(1, device=device),
        torch.zeros(1, device=device),
    )
    graph: torch.nn.Module
    if temporal:
        from stylecast.temporal.graph import TemporalFrameGraph

        graph = TemporalFrameGraph(network).to(device)
        dynamic_shapes |= {"prev_feats": {1: height, 2: width},
                           "confidence": {2: height, 3: width},
                           "prev_stats": None, "stat_rate": None}
        h, w = _EXAMPLE_HW[0] // multiple, _EXAMPLE_HW[1] // multiple
        example += (torch.zeros((1, h, w, graph.channels), device=device),
                    torch.zeros((1, 1, h, w), device=device),
                    torch.zeros((1, 2, graph.stats_channels), device=device),
                    torch.ones(1, device=device))
    else:
        graph = FrameGraph(network)
    was_training = network.training
    graph.eval()
    try:
        program = torch.onnx.export(
            graph, example, dynamo=True, dynamic_shapes=dynamic_shapes,
            input_names=list(graph.INPUT_NAMES), output_names=list(graph.OUTPUT_NAMES),
            opset_version=OPSET, external_data=False, verbose=False,
        )
    finally:
        network.train(was_training)
    if program is None:  # only the legacy exporter returns None
        raise RuntimeError("torch.onnx.export returned no program")
    return program
