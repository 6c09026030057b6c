"""How a capture source opens and what it does at the end: plain data, no PyAV."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction


class AtEnd(enum.Enum):
    """What a source does when its input ends or stalls."""

    STOP = "stop"  # files: the end is the end
    LOOP = "loop"  # files with loop=True: open again, timestamps continue
    RECONNECT = "reconnect"  # network streams: open again until the reconnect window passes
    FAIL = "fail"  # devices: an end means the device went away


@dataclass(frozen=True)
class OpenPlan:
    """How to open one PyAV input.

    Attributes:
        url: what ``av.open`` gets: a path, URL, device name or lavfi filter graph.
        format: demuxer or device (``lavfi``, ``v4l2``, ``image2`` ...), None to probe.
        options: demuxer, device and protocol options (``container_options``).
        timeout: (open, read) seconds for inputs that can block, None for local ones.
    """

    url: str
    format: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    timeout: tuple[float, float] | None = None


@dataclass(frozen=True)
class SourceRequest:
    """What the user asked of a source, already validated by ``open_source``.

    Attributes:
        size: (width, height) to scale to, or None for the input's own size.
        fps: frame rate wanted (device option, pattern rate, sequence rate), or None.
        loop: restart files at their end.
        live: real-time use, or None for the kind's default.
    """

    size: tuple[int, int] | None = None
    fps: Fraction | None = None
    loop: bool = False
    live: bool | None = None
