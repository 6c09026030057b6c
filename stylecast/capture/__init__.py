"""Capture sources: test patterns, files, image sequences, cameras, screens and streams.

Use ``open_source(spec, ...)`` to turn a ``--input`` string into a Source.
"""

from __future__ import annotations

from stylecast.capture.base import Source
from stylecast.capture.devices import list_capture_devices
from stylecast.capture.factory import SOURCE_KINDS, open_source, resolve_spec

__all__ = ["SOURCE_KINDS", "Source", "list_capture_devices", "open_source", "resolve_spec"]
