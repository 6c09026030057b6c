"""Remote control of a live pipeline: the protocol, its websocket server and the web page.

``protocol`` is pure (no I/O) and shared by every transport; ``server`` adds the
websocket/HTTP server and is imported on its own so the protocol stays light.
"""

from __future__ import annotations

from stylecast.control.api import ControlTarget
from stylecast.control.protocol import PROTOCOL_VERSION, handle, handle_message

__all__ = ["PROTOCOL_VERSION", "ControlTarget", "handle", "handle_message"]
