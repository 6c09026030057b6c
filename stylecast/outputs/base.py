"""The output contract: a sink receives stylized Frames."""

from __future__ import annotations

import abc
from fractions import Fraction

from stylecast.pipeline.frames import Frame


class Sink(abc.ABC):
    """Where stylized frames go.

    Lifecycle: ``open(width=, height=, fps=)`` once, ``send(frame)`` per frame from one
    thread, ``close()`` exactly once by the pipeline (and idempotent anyway). A sink that
    raises SinkError from ``open`` or ``send`` is reported once and disabled by the
    pipeline; the other sinks keep running.
    """

    name: str = "sink"

    @abc.abstractmethod
    def open(self, *, width: int, height: int, fps: Fraction) -> None:
        """Prepare for frames of this size and rate; raises SinkError with what to do."""

    @abc.abstractmethod
    def send(self, frame: Frame) -> None:
        """Deliver one (H, W, 3) uint8 RGB frame; may block for pacing."""

    @abc.abstractmethod
    def close(self) -> None:
        """Flush and release; afterwards a recording must be playable."""
