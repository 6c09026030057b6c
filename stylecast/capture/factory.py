"""``open_source``: from the user's ``--input`` string to a Source, through one registry.

A spec is ``KIND:TARGET`` where KIND is a key of SOURCE_KINDS (``test:smpte``,
``udp://127.0.0.1:5000``, ``v4l2:/dev/video0``, ``camera:1``, ``screen``), or a bare
path: ``/dev/videoN`` is a camera, a pattern with one ``%d`` an image sequence, anything
else a video file (``file:NAME`` forces a file, e.g. one literally called ``test``).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Protocol

from stylecast.capture.base import Source
from stylecast.capture.devices import CameraSource, ScreenSource
from stylecast.capture.files import FileSource, ImageSequenceSource
from stylecast.capture.network import NetworkSource
from stylecast.capture.plan import SourceRequest
from stylecast.capture.testpattern import TestPatternSource
from stylecast.errors import CaptureError
from stylecast.pipeline.frames import is_sequence_pattern, parse_size


class SourceKind(Protocol):
    """What a registered source class provides."""

    @classmethod
    def from_spec(cls, kind: str, target: str, request: SourceRequest) -> Source: ...


SOURCE_KINDS: dict[str, type[SourceKind]] = {
    "test": TestPatternSource,
    "file": FileSource,
    "images": ImageSequenceSource,
    "camera": CameraSource,
    "v4l2": CameraSource,
    "avfoundation": CameraSource,
    "dshow": CameraSource,
    "screen": ScreenSource,
    "x11grab": ScreenSource,
    "udp": NetworkSource,
    "tcp": NetworkSource,
    "rtmp": NetworkSource,
    "rtsp": NetworkSource,
    "http": NetworkSource,
    "https": NetworkSource,
}


def resolve_spec(spec: str) -> tuple[str, str]:
    """Split an ``--input`` string into (kind, target); kind is a SOURCE_KINDS key."""
    text = spec.strip()
    if not text:
        raise CaptureError("empty --input: give a file, a camera (camera, /dev/video0), a "
                           "URL (udp://127.0.0.1:5000) or test")
    head, _, rest = text.partition(":")
    # A one-letter head is a Windows drive (C:\clip.mp4), never a kind.
    if len(head) > 1 and head.lower() in SOURCE_KINDS:
        return head.lower(), rest
    if text.startswith("/dev/video"):
        return "v4l2", text
    if is_sequence_pattern(text):
        return "images", text
    return "file", text


def open_source(spec: str, *, size: tuple[int, int] | None = None, fps: float | None = None,
                loop: bool = False, live: bool | None = None) -> Source:
    """Build the Source for a user's ``--input``, validated but not yet opened.

    Call ``open()`` (or use it as a context manager), then iterate ``frames()``.

    Args:
        spec: e.g. ``test``, ``test:mandelbrot``, ``clip.mp4``, ``frames/%05d.png``,
            ``/dev/video0``, ``camera:1``, ``udp://127.0.0.1:5000``, ``screen``.
        size: (width, height) every frame is scaled to (swscale), or None for native.
        fps: wanted frame rate (device option, pattern/sequence rate), None for default.
        loop: restart a file or image sequence at its end, timestamps continuing.
        live: real-time use (paced files, drop-oldest hand-off); None for the kind's
            default: False for files and sequences, True for everything else.

    Raises:
        CaptureError: the spec, size or fps is unusable, or the file does not exist.
    """
    request = SourceRequest(size=_check_size(size), fps=_check_fps(fps), loop=loop,
                            live=live)
    kind, target = resolve_spec(spec)
    return SOURCE_KINDS[kind].from_spec(kind, target, request)


def _check_size(size: tuple[int, int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    try:
        width, height = size
        return parse_size(f"{int(width)}x{int(height)}")
    except (TypeError, ValueError) as exc:
        raise CaptureError(f"capture size {size!r} is unusable ({exc}): give even "
                           "(width, height) such as (1280, 720)") from exc


def _check_fps(fps: float | None) -> Fraction | None:
    if fps is None:
        return None
    if not (isinstance(fps, (int, float, Fraction)) and math.isfinite(fps) and 0 < fps <= 240):
        raise CaptureError(f"capture fps {fps!r} is outside 0 < fps <= 240: try 30")
    # 29.97 -> 2997/100; NTSC users who mean 30000/1001 can pass that Fraction.
    return Fraction(fps).limit_denominator(1001)
