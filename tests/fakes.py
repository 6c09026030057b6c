"""Test doubles the tests share: a free local port, a fake virtual-camera backend."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import pyvirtualcam
from pyvirtualcam.camera import BACKENDS
from pyvirtualcam.util import decode_fourcc


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 that was free a moment ago (TCP, or UDP with SOCK_DGRAM)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeCamera:
    """A pyvirtualcam backend that takes only ``accepts`` and keeps what it is sent.

    It goes through pyvirtualcam's own Camera (shape checks, fourcc encoding); each opened
    camera is appended to ``instances`` and keeps its frames as sent (bytes, reshaped by
    the caller for the negotiated format).
    """

    accepts: frozenset[str] = frozenset()
    instances: list[FakeCamera] = []

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int,
                 device: str | None, **kw: Any) -> None:
        name = decode_fourcc(fourcc)
        fmt = pyvirtualcam.PixelFormat(name).name
        if fmt not in self.accepts:
            raise RuntimeError(f"format {fmt} not supported")
        self.fmt, self.fps, self._device = fmt, fps, device or "fake0"
        self.frames: list[np.ndarray] = []
        self.closed = 0
        type(self).instances.append(self)

    def send(self, frame: np.ndarray) -> None:
        self.frames.append(frame.copy())

    def close(self) -> None:
        self.closed += 1

    def device(self) -> str:
        return self._device

    def native_fourcc(self) -> int | None:
        return None


@pytest.fixture
def fake_camera() -> Iterator[Callable[..., type[FakeCamera]]]:
    """Register fake backends (only these, so auto-selection cannot pick a real one):
    ``fake_camera("RGB", "I420", name="fake")`` returns the registered class."""
    saved = dict(BACKENDS)
    BACKENDS.clear()

    def make(*formats: str, name: str = "fake") -> type[FakeCamera]:
        cls = type(f"Fake_{name}", (FakeCamera,),
                   {"accepts": frozenset(formats), "instances": []})
        pyvirtualcam.register_backend(name, cls)
        return cls

    yield make
    BACKENDS.clear()
    BACKENDS.update(saved)
