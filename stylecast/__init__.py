"""stylecast: live neural style transfer for streamers, video calls and live performance.

The public API::

    from stylecast import EngineOptions, Pipeline, build_stylizer, open_output, open_source

    stylizer, pack = build_stylizer("great-wave", EngineOptions())
    pipeline = Pipeline(open_source("clip.mp4", live=False), stylizer,
                        [open_output("out.mp4")])

The names are imported on first use, so ``import stylecast`` stays light (no PyAV, OpenCV
or runtime) for the command line and for tools that only want the version.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from stylecast.capture import open_source
    from stylecast.engine.build import EngineOptions, build_stylizer
    from stylecast.engine.stylizer import Stylizer
    from stylecast.outputs import open_output
    from stylecast.pipeline.threads import Pipeline
    from stylecast.styles import StyleCatalog

# name -> module that defines it
_PUBLIC = {
    "EngineOptions": "stylecast.engine.build",
    "build_stylizer": "stylecast.engine.build",
    "Stylizer": "stylecast.engine.stylizer",
    "Pipeline": "stylecast.pipeline.threads",
    "open_source": "stylecast.capture",
    "open_output": "stylecast.outputs",
    "StyleCatalog": "stylecast.styles",
}

__all__ = ["EngineOptions", "Pipeline", "StyleCatalog", "Stylizer", "__version__",
           "build_stylizer", "open_output", "open_source"]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'stylecast' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
