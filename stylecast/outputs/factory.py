"""``open_output``: a sink from what the user typed, as ``open_source`` opens a source."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from stylecast.outputs.base import Sink

#: URL schemes that name a stream (``StreamSink``) rather than a file.
STREAM_SCHEMES = ("tcp", "udp")


def open_output(spec: str | os.PathLike[str]) -> Sink:
    """The sink ``spec`` names (not opened yet: the pipeline opens it at the frame size).

    * ``vcam`` or ``vcam:DEVICE`` (e.g. ``vcam:/dev/video10``): a virtual camera;
    * ``tcp://HOST:PORT`` or ``udp://HOST:PORT``: a low-latency local stream;
    * anything else: a recording, numbered pictures for a ``%d`` pattern, else a video file.

    Raises:
        SinkError or StreamError: ``spec`` cannot be an output (a single picture, a bad URL).
    """
    text = os.fspath(spec)
    if text == "vcam" or text.startswith("vcam:"):
        from stylecast.outputs.vcam import VirtualCameraSink

        return VirtualCameraSink(device=text.partition(":")[2] or None)
    if urlsplit(text).scheme in STREAM_SCHEMES:
        from stylecast.outputs.stream import StreamSink

        return StreamSink(text)
    from stylecast.outputs.record import open_file_output

    return open_file_output(text)
