"""Wiring: from a style name and options to an opened runtime, mixer and stylizer.

Shared by the CLI, the Python API and the benchmarks, so all three run the same code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from stylecast.engine.mixer import StyleMixer
from stylecast.engine.stylizer import Stylizer
from stylecast.errors import ConfigError
from stylecast.model.pack import StylePack
from stylecast.model.spec import SIZES
from stylecast.runtime.base import Runtime
from stylecast.styles import StyleCatalog
from stylecast.temporal.config import TemporalConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineOptions:
    """How the network runs: which size, runtime, precision, threads, processing size,
    and whether the temporal cache steadies the video.

    ``runtime_options`` holds runtime-specific options by name, passed to the runtimes that
    take them (see ``open_runtime``): torch-cuda's ``cuda_graph`` (default True: replay a
    captured CUDA graph per frame size) and ``compile`` (default False: torch.compile).
    """

    network: str = "auto"
    runtime: str = "auto"
    precision: str = "auto"
    threads: int | None = None
    process_size: tuple[int, int] | None = None
    upsample: str = "guided"
    # Strokes relative to the painting's (see Stylizer); 1 = the painting's proportions.
    stroke_scale: float = 1.0
    strength: float = 1.0
    preserve_colour: float = 0.0
    blend: dict[str, float] = field(default_factory=dict)
    # On by default since it meets its goals in speed mode (docs/TEMPORAL.md).
    temporal: bool = True
    temporal_reuse: int = TemporalConfig.reuse
    runtime_options: dict[str, object] = field(default_factory=dict)


def choose_network(pack: StylePack, requested: str, runtime: str) -> str:
    """``lite`` unless ``full`` is asked for (or auto on a GPU runtime and the pack has it)."""
    if requested in SIZES:
        return requested
    if requested != "auto":
        raise ConfigError(f"--network must be auto, lite or full, not {requested!r}")
    gpu = runtime in ("tensorrt", "torch-cuda")
    if gpu and "full" in pack.networks:
        return "full"
    if "lite" in pack.networks:
        return "lite"
    return next(iter(pack.networks))


def open_runtime_for(pack: StylePack, options: EngineOptions) -> Runtime:
    """Open the runtime ``options`` ask for on ``pack``'s network. The ONNX runtimes run the
    pack's shipped graphs and need no torch; torch is imported only where it is needed."""
    size = choose_network(pack, options.network, options.runtime)
    network = pack.network(size)
    from stylecast.runtime import open_runtime

    runtime = open_runtime(options.runtime, network=network, precision=options.precision,
                           threads=options.threads, options=options.runtime_options)
    info = runtime.info
    log.info("network %s/%s on %s (%s, %s)", pack.name, size, info.name, info.device,
             info.precision)
    return runtime


def build_stylizer(
    style: str | None = None, options: EngineOptions | None = None,
    catalog: StyleCatalog | None = None,
) -> tuple[Stylizer, StylePack]:
    """Resolve ``style`` (None = the first installed), open its pack's network, and return a
    ready Stylizer with the mixer set to that style (or to ``options.blend``); ``options``
    None means ``EngineOptions()``, the defaults the command line has too."""
    options = options or EngineOptions()
    catalog = catalog or StyleCatalog.discover()
    name = style or catalog.default_style()
    pack = catalog.pack_of(name)
    weights = options.blend or {name: 1.0}
    for other in weights:
        if catalog.pack_of(other) is not pack:
            raise ConfigError(f"styles {name!r} and {other!r} are in different packs; a "
                              "blend needs styles of one pack (one network)")
    runtime = open_runtime_for(pack, options)
    entry = pack.networks[choose_network(pack, options.network, options.runtime)]
    mixer = StyleMixer([s.name for s in pack.styles], weights)
    stylizer = Stylizer(runtime, mixer, process_size=options.process_size,
                        upsample=options.upsample, reference_width=entry.reference_width,
                        stroke_scale=options.stroke_scale, temporal=options.temporal,
                        temporal_reuse=options.temporal_reuse)
    stylizer.strength = options.strength
    stylizer.preserve_colour = options.preserve_colour
    return stylizer, pack
