"""The runtime contract: one class per inference engine, registered by name."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from stylecast.model.network import StyleNetwork


@dataclass(frozen=True)
class RuntimeInfo:
    """What actually runs: reported by ``doctor``, ``bench`` and the status line."""

    name: str
    device: str
    precision: str


class Runtime(abc.ABC):
    """Executes ``FrameGraph`` for one network.

    Lifecycle: construct (cheap, no heavy imports), ``open()`` once (imports the SDK,
    compiles or loads; raises BackendUnavailable with the reason), ``infer`` many times from
    one thread, ``close()`` exactly once (idempotent anyway).
    """

    name: ClassVar[str] = "runtime"

    def __init__(
        self, *, network: StyleNetwork, precision: str = "auto", threads: int | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.network = network
        self.precision = precision
        self.threads = threads
        self.cache_dir = cache_dir

    @abc.abstractmethod
    def open(self) -> None:
        """Prepare to run; raises BackendUnavailable saying why not and what to do."""

    @abc.abstractmethod
    def infer(
        self, frame: np.ndarray, style: np.ndarray, strength: float, preserve: float
    ) -> np.ndarray:
        """(H, W, 3) uint8 RGB, H and W multiples of 4; style (S,) float32 -> (H, W, 3) uint8."""

    def warmup(self, width: int, height: int) -> None:
        """Run once at this size so the first live frame does not pay for compilation."""
        frame = np.zeros((height, width, 3), dtype=np.uint8)
        style = np.zeros(self.network.spec.num_styles, dtype=np.float32)
        style[0] = 1.0
        self.infer(frame, style, 1.0, 0.0)

    @abc.abstractmethod
    def close(self) -> None:
        """Release the engine; idempotent."""

    @property
    @abc.abstractmethod
    def info(self) -> RuntimeInfo:
        """Name, device and precision actually in use (valid after ``open``)."""
