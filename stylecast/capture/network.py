"""Network streams as sources: udp, tcp, rtmp, rtsp, http(s).

Demuxer options trade start-up analysis for latency (small probesize/analyzeduration,
RTSP over TCP). ``fflags=nobuffer`` is deliberately absent: it discards the packets read
while probing, which loses the stream's first keyframe and shows nothing until the next
one (seconds with a typical keyframe interval). A stall or end reconnects for up to
RECONNECT_WINDOW_S, with timestamps continuing.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from stylecast.capture.plan import AtEnd, OpenPlan, SourceRequest
from stylecast.capture.pyav_source import PyAVSource
from stylecast.errors import CaptureError

# (open, read) seconds. Both bound how long the reader takes to notice close(); opens
# are retried for FIRST_DATA_S while nothing arrives, so a late sender is still fine.
NETWORK_TIMEOUT = (3.0, 2.0)
NEEDS_PORT = frozenset({"udp", "tcp"})
# Served files (http) arrive faster than real time: pace them like a local file.
PACED_SCHEMES = frozenset({"http", "https"})
LOW_LATENCY = {"probesize": "500000", "analyzeduration": "500000"}
SCHEME_OPTIONS: dict[str, dict[str, str]] = {"rtsp": {"rtsp_transport": "tcp"}}


class NetworkSource(PyAVSource):
    """A live stream pulled from a URL (stylecast is the receiver or client)."""

    @classmethod
    def from_spec(cls, kind: str, target: str, request: SourceRequest) -> NetworkSource:
        """Build from a URL such as ``udp://127.0.0.1:5000``; raises CaptureError."""
        url = f"{kind}:{target}"
        check_url(url)
        live = True if request.live is None else request.live
        options = {**LOW_LATENCY, **SCHEME_OPTIONS.get(kind, {})}
        return cls(OpenPlan(url, options=options, timeout=NETWORK_TIMEOUT),
                   description=f"stream {url}",
                   hint="is the sender running, and do the protocol, address and port "
                        "match what it sends to?",
                   size=request.size, fps=request.fps, live=live,
                   pace=kind in PACED_SCHEMES, at_end=AtEnd.RECONNECT)


def check_url(url: str) -> None:
    """Raise CaptureError unless ``url`` has a host (and a port where one is needed)."""
    example = "e.g. udp://127.0.0.1:5000 or rtsp://camera.local/stream"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise CaptureError(f"bad stream URL {url!r} ({exc}): expected {example}") from exc
    if not url.startswith(f"{parts.scheme}://"):
        raise CaptureError(f"bad stream URL {url!r}: expected {example}")
    # udp://:5000 (receive on every interface) is fine; other schemes name a server.
    if not parts.hostname and parts.scheme not in NEEDS_PORT:
        raise CaptureError(f"stream URL {url!r} has no host: expected {example}")
    if parts.scheme in NEEDS_PORT and port is None:
        raise CaptureError(f"stream URL {url!r} has no port: expected {example}")
