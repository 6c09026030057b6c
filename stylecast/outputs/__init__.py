"""Output sinks: virtual camera, recordings (file or image sequence) and local streams.

Sink modules import their heavy dependencies (pyvirtualcam) only when opened; import the
sink you need from its module, e.g. ``from stylecast.outputs.vcam import
VirtualCameraSink``.
"""

from __future__ import annotations

from stylecast.outputs.base import Sink

__all__ = ["Sink"]
