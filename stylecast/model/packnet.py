"""One network of a style pack as a runtime takes it, and the pack's shipped ONNX graphs.

``PackNetwork`` has what every runtime needs to know (the spec, the length of the temporal
statistics row) without torch, and the pack's ONNX graphs, verified against the manifest;
the torch module is built only for the runtimes that run torch. ``write_graphs`` exports
the graphs into a pack (torch and onnxscript needed there, at pack time only).
"""

from __future__ import annotations

import json
import logging
import struct
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stylecast.errors import BackendUnavailable, PackError
from stylecast.model.pack import GRAPH_KINDS, NetworkEntry, StylePack, inside_pack, verify_file
from stylecast.model.spec import GRAPH_FORMAT, TEMPORAL_GRAPH_FORMAT, NetworkSpec

if TYPE_CHECKING:
    from stylecast.model.network import StyleNetwork

log = logging.getLogger(__name__)

#: What to install for the torch-only paths (older packs, the torch runtimes). The CPU pin
#: keeps pip from pulling a CUDA build of torch.
TORCH_INSTALL = ("pip install torch==2.13.0 'stylecast[torch]' (on a GPU machine, the "
                 "CUDA build of torch you want, then 'stylecast[gpu]')")
# A safetensors header is JSON of a few kB for these networks; refuse anything absurd.
_MAX_HEADER_BYTES = 16 * 1024 * 1024


def current_format(kind: str) -> int:
    """The graph format this stylecast reads for ``kind`` ("onnx" or "temporal_onnx")."""
    return TEMPORAL_GRAPH_FORMAT if kind == "temporal_onnx" else GRAPH_FORMAT


def graph_file(size: str, kind: str) -> str:
    """The file name a pack's graph of ``kind`` has: ``lite.onnx``, ``lite.temporal.onnx``."""
    return f"{size}{GRAPH_KINDS[kind]}"


def import_torch(why: str) -> Any:
    """``torch``, or BackendUnavailable saying ``why`` it was needed and what to install."""
    try:
        import torch
    except ImportError as exc:
        raise BackendUnavailable(f"{why} needs PyTorch, which is not installed ({exc}): "
                                 f"{TORCH_INSTALL}") from exc
    return torch


class PackNetwork:
    """The ``size`` network of ``pack``: what a runtime opens.

    Args:
        pack: a loaded pack.
        size: one of its networks ("lite", "full").

    Raises:
        PackError: the pack has no such network.
    """

    def __init__(self, pack: StylePack, size: str) -> None:
        self.pack = pack
        self.entry: NetworkEntry = pack.entry(size)
        self.spec: NetworkSpec = self.entry.spec
        self._module: StyleNetwork | None = None

    def __repr__(self) -> str:
        return f"PackNetwork({self.pack.name}/{self.spec.size})"

    @cached_property
    def stats_channels(self) -> int:
        """K: channels over every conditional norm, from the weights file's header."""
        header = read_safetensors_header(inside_pack(self.pack.root, self.entry.file))
        return sum(int(info["shape"][1]) for name, info in header.items()
                   if name.endswith(".scale") and isinstance(info, dict)
                   and len(info.get("shape", ())) == 2)

    def graph_problem(self, kind: str) -> str | None:
        """Why the pack's graph of ``kind`` cannot be used, or None when it can."""
        what = "temporal graph" if kind == "temporal_onnx" else "ONNX graph"
        where = f"pack {self.pack.name!r} ({self.pack.root})"
        graph = self.entry.graphs.get(kind)
        if graph is None:
            return (f"{where} ships no {what} for its {self.spec.size} network; "
                    f"`stylecast export-onnx {self.pack.root}` adds it")
        if graph.weights_sha256 != self.entry.sha256:
            return (f"the {what} of {where} was exported from other {self.spec.size} weights "
                    f"than the pack has now; `stylecast export-onnx {self.pack.root}` "
                    "exports it again")
        if graph.graph_format != current_format(kind):
            return (f"the {what} of {where} has graph format {graph.graph_format}, this "
                    f"stylecast reads {current_format(kind)}; update the pack, or "
                    f"`stylecast export-onnx {self.pack.root}`")
        return None

    def graph(self, kind: str) -> Path | None:
        """The pack's graph of ``kind``, checksum verified; None when ``graph_problem``
        says it cannot be used (no graph, or one for other weights or another format).

        Raises:
            PackError: the manifest lists the graph but the file is missing, outside the
                pack, or fails its checksum.
        """
        if self.graph_problem(kind) is not None:
            return None
        graph = self.entry.graphs[kind]
        path = inside_pack(self.pack.root, graph.file)
        verify_file(path, graph.sha256, what="ONNX graph")
        return path

    def module(self) -> StyleNetwork:
        """The torch network with the pack's weights (built once, on first call).

        Raises:
            BackendUnavailable: torch is not installed (the message says what to install).
            PackError: the weights are missing, corrupt or do not match the manifest.
        """
        if self._module is None:
            import_torch(f"running pack {self.pack.name!r}'s {self.spec.size} network in torch")
            self._module = self.pack.load_network(self.spec.size)
        return self._module


def read_safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of a safetensors file (tensor names, dtypes, shapes); no torch."""
    try:
        with path.open("rb") as fh:
            (length,) = struct.unpack("<Q", fh.read(8))
            if length > _MAX_HEADER_BYTES:
                raise PackError(f"{path} claims a {length}-byte header; not a safetensors "
                                "file of a stylecast network")
            header = json.loads(fh.read(length))
    except FileNotFoundError as exc:
        raise PackError(f"weights file {path} is missing; reinstall the pack") from exc
    except (OSError, struct.error, ValueError) as exc:
        raise PackError(f"{path} is not a valid safetensors file: {exc}") from exc
    if not isinstance(header, dict):
        raise PackError(f"{path} is not a valid safetensors file: its header is not a table")
    return header


def write_graphs(root: Path, network: StyleNetwork, weights_sha256: str) -> dict[str, Any]:
    """Export ``network``'s plain and temporal graphs into ``root`` (replacing older ones).

    Args:
        root: the pack folder.
        network: the network whose weights are ``weights_sha256``.
        weights_sha256: checksum of the pack's weights file for this network.

    Returns:
        The manifest entries by kind: ``{"onnx": {file, sha256, weights_sha256,
        graph_format}, "temporal_onnx": {...}}``.

    Raises:
        EngineBuildError: an export failed (torch and onnxscript are needed here).
    """
    from stylecast.model.export import write_onnx, write_temporal_onnx
    from stylecast.model.pack import sha256_of

    writers = {"onnx": write_onnx, "temporal_onnx": write_temporal_onnx}
    entries: dict[str, Any] = {}
    for kind, write in writers.items():
        path = root / graph_file(network.spec.size, kind)
        log.info("exporting the %s %s graph into %s", network.spec.size,
                 "temporal" if kind == "temporal_onnx" else "plain", path)
        write(network, path)
        path.chmod(0o644)  # a pack is shared data (the export writes a private temp file)
        entries[kind] = {"file": path.name, "sha256": sha256_of(path),
                         "weights_sha256": weights_sha256, "graph_format": current_format(kind)}
    return entries


def add_graphs(root: Path, sizes: tuple[str, ...] = ()) -> list[str]:
    """Export the graphs of an existing pack's networks into it and record them.

    Args:
        root: the pack folder (with manifest.toml and weights).
        sizes: the networks to export; all of the pack's when empty.

    Returns:
        The sizes exported.

    Raises:
        PackError: the pack is invalid or has no such network.
        BackendUnavailable: torch is not installed.
        EngineBuildError: an export failed.
    """
    import tomllib

    from stylecast.model.pack import MANIFEST, load_pack, update_manifest

    pack = load_pack(root)
    import_torch("exporting a pack's ONNX graphs")
    chosen = sizes or tuple(pack.networks)
    raw = tomllib.loads((root / MANIFEST).read_text(encoding="utf-8"))
    for size in chosen:
        entry = pack.entry(size)
        network = pack.load_network(size)  # weights verified against the manifest
        table = dict(raw["networks"][size])
        table.update(write_graphs(root, network, entry.sha256))
        update_manifest(root, None, size, table)
        raw["networks"][size] = table
    return list(chosen)
