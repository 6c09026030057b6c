"""Output sinks: virtual camera, recordings (file or image sequence) and local streams.

``open_output`` picks the sink a spec names (``vcam``, a stream URL, a file); sink modules
import their heavy dependencies (pyvirtualcam) only when opened.
"""

from __future__ import annotations

from stylecast.outputs.base import Sink
from stylecast.outputs.factory import open_output

__all__ = ["Sink", "open_output"]
