"""The capture contract: a source yields Frames until it ends or is closed."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from fractions import Fraction

from stylecast.pipeline.frames import Frame


class Source(abc.ABC):
    """A video source.

    Lifecycle: ``open()`` once, then iterate ``frames()`` (from one thread), then
    ``close()``; ``close()`` is idempotent and may be called from another thread to make a
    blocked ``frames()`` return promptly.

    Attributes:
        live: True when frames arrive in real time (camera, stream, paced test source):
            the pipeline then drops the oldest frame rather than falling behind.
        description: human-readable name for logs and the status line.
    """

    live: bool = True
    description: str = "source"

    @abc.abstractmethod
    def open(self) -> None:
        """Open the device or file; raises CaptureError with what to do."""

    @abc.abstractmethod
    def frames(self) -> Iterator[Frame]:
        """Yield (H, W, 3) uint8 RGB frames with pts, time_base and t_capture set."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the device; idempotent; unblocks ``frames()``."""

    @property
    @abc.abstractmethod
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames ``frames()`` yields; valid after ``open()``."""

    @property
    @abc.abstractmethod
    def fps(self) -> Fraction:
        """Nominal frame rate; valid after ``open()``."""

    def __enter__(self) -> Source:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
