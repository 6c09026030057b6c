"""What a runtime runs: a pack's shipped ONNX graph, or one exported from the torch network.

A runtime is handed either a ``PackNetwork`` (a pack's network: spec and shipped graphs,
torch only on demand) or a torch ``StyleNetwork`` (tests, benchmarks, training). The ONNX
runtimes ask ``onnx_graph`` for a file: the pack's own graph when it ships a current one,
so they need no torch; else an export of the torch network, cached on disk. The torch
runtimes ask ``torch_network`` for the module.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from stylecast.model.spec import NetworkSpec

if TYPE_CHECKING:
    from stylecast.model.network import StyleNetwork
    from stylecast.model.packnet import PackNetwork

log = logging.getLogger(__name__)


class NetworkLike(Protocol):
    """What every runtime reads of its network, with or without torch."""

    spec: NetworkSpec

    @property
    def stats_channels(self) -> int:
        """K: the length of the temporal graph's statistics row."""
        ...


def torch_network(network: StyleNetwork | PackNetwork) -> StyleNetwork:
    """The torch module behind ``network`` (built from the pack's weights if need be).

    Raises:
        BackendUnavailable: torch is not installed (the message says what to install).
        PackError: the pack's weights are missing or corrupt.
    """
    from stylecast.model.packnet import PackNetwork

    if isinstance(network, PackNetwork):
        return network.module()
    return network


def onnx_graph(network: StyleNetwork | PackNetwork, cache_dir: Path | None = None, *,
               temporal: bool = False) -> Path:
    """The ONNX file of ``network``'s plain (or temporal) frame graph.

    Args:
        network: a ``PackNetwork`` or a torch ``StyleNetwork``.
        cache_dir: root of the export cache; the user cache directory when None.
        temporal: the temporal graph instead of the plain one.

    Returns:
        The pack's own graph (checksum verified) when it ships a current one; else an
        export of the torch network, cached under ``cache_dir``.

    Raises:
        BackendUnavailable: the pack ships no usable graph and torch is not installed; the
            message says why the graph was not used and what to install.
        PackError: a shipped graph is missing or fails its checksum.
        EngineBuildError: the export failed.
    """
    from stylecast.errors import BackendUnavailable
    from stylecast.model.packnet import TORCH_INSTALL, PackNetwork

    if isinstance(network, PackNetwork):
        kind = "temporal_onnx" if temporal else "onnx"
        path = network.graph(kind)
        if path is not None:
            log.debug("running the graph shipped in the pack: %s", path)
            return path
        problem = network.graph_problem(kind) or ""
        try:
            module = network.module()
        except BackendUnavailable as exc:
            raise BackendUnavailable(f"{problem}; exporting one needs PyTorch, which is not "
                                     f"installed: {TORCH_INSTALL}") from exc
        if network.entry.graphs:
            # A graph was shipped but does not fit: worth a line, the user can fix it.
            log.warning("%s; exporting it from the weights instead", problem)
        network = module
    if temporal:
        from stylecast.model.export import export_temporal_onnx

        return export_temporal_onnx(network, cache_dir)
    from stylecast.model.export import export_onnx

    return export_onnx(network, cache_dir)
