"""A fake ControlTarget (a small real class that records calls) and a running server."""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from stylecast.control.server import ControlServer
from stylecast.errors import ConfigError, StylecastError, StyleNotFound

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def tiny_png(rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real 2x2 RGB PNG, made without an image library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + bytes(rgb) * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (PNG_MAGIC + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


STYLES = [
    {"name": "starry-night", "title": "The Starry Night", "artist": "Vincent van Gogh",
     "year": 1889, "pack": "classic"},
    {"name": "great-wave", "title": "The Great Wave off Kanagawa",
     "artist": "Katsushika Hokusai", "year": 1831, "pack": "classic"},
    {"name": "scream", "title": "The Scream", "artist": "Edvard Munch", "year": 1893,
     "pack": "classic"},
]


class FakeTarget:
    """Implements ControlTarget in memory and records every call as (method, args)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self.frame: bytes | None = tiny_png()
        self.preview: bytes | None = JPEG_MAGIC + b"\xe0fake-jpeg"
        self.block: threading.Event | None = None  # set_style waits on it when not None
        self._lock = threading.Lock()
        self.state: dict[str, Any] = {
            "fps": 29.5, "latency_p50_ms": 41.0, "latency_p95_ms": 55.5, "drops": 0,
            "frames": 100, "style": "starry-night", "styles": {"starry-night": 1.0},
            "strength": 1.0, "preserve_colour": 0.0, "stroke_scale": 1.0, "temporal": True,
            "paused": False}

    def _record(self, name: str, *args: Any) -> None:
        with self._lock:
            self.calls.append((name, args))

    def _summary(self) -> dict[str, Any]:
        return dict(self.state)

    def _check(self, name: str) -> None:
        if name not in {s["name"] for s in STYLES}:
            raise StyleNotFound(f"no installed style is called {name!r}; list_styles "
                                "shows the installed ones")

    def list_styles(self) -> list[dict[str, Any]]:
        self._record("list_styles")
        return [dict(s) for s in STYLES]

    def set_style(self, name: str, transition_ms: float) -> dict[str, Any]:
        self._record("set_style", name, transition_ms)
        if self.block is not None:
            self.block.wait(10)
        self._check(name)
        self.state.update(style=name, styles={name: 1.0})
        return self._summary()

    def blend(self, weights: dict[str, float], transition_ms: float) -> dict[str, Any]:
        self._record("blend", weights, transition_ms)
        for name in weights:
            self._check(name)
        if len(weights) > 3:
            raise ConfigError("these styles come from packs with different networks")
        total = sum(weights.values())
        mix = {k: v / total for k, v in weights.items()}
        self.state.update(styles=mix, style=max(mix, key=lambda k: mix[k]))
        return self._summary()

    def set_strength(self, value: float) -> dict[str, Any]:
        self._record("set_strength", value)
        self.state["strength"] = value
        return self._summary()

    def set_stroke_scale(self, value: float) -> dict[str, Any]:
        self._record("set_stroke_scale", value)
        self.state["stroke_scale"] = value
        return self._summary()

    def set_preserve_colour(self, value: float) -> dict[str, Any]:
        self._record("set_preserve_colour", value)
        self.state["preserve_colour"] = value
        return self._summary()

    def set_temporal(self, enabled: bool) -> dict[str, Any]:
        self._record("set_temporal", enabled)
        self.state["temporal"] = enabled
        return self._summary()

    def pause(self) -> dict[str, Any]:
        self._record("pause")
        self.state["paused"] = True
        return self._summary()

    def resume(self) -> dict[str, Any]:
        self._record("resume")
        self.state["paused"] = False
        return self._summary()

    def snapshot(self) -> bytes:
        self._record("snapshot")
        if self.frame is None:
            raise StylecastError("no output frame yet; wait until the pipeline runs")
        return self.frame

    def preview_jpeg(self, max_width: int) -> bytes | None:
        self._record("preview_jpeg", max_width)
        return self.preview

    def thumbnail(self, style: str) -> bytes:
        self._record("thumbnail", style)
        self._check(style)
        return tiny_png((len(style) * 10, 80, 160))

    def stats(self) -> dict[str, Any]:
        self._record("stats")
        return self._summary()

    def add_listener(self, callback: Callable[[dict[str, Any]], None]) -> None:
        self._record("add_listener")
        self.listeners.append(callback)

    def emit(self, event: dict[str, Any]) -> None:
        """What the pipeline does: call every listener from the current thread."""
        for callback in self.listeners:
            callback(event)

    def count(self, name: str) -> int:
        with self._lock:
            return sum(1 for call in self.calls if call[0] == name)


@pytest.fixture
def target() -> FakeTarget:
    return FakeTarget()


@pytest.fixture(scope="module")
def shared_target() -> FakeTarget:
    """One target for hypothesis tests, which cannot take function-scoped fixtures."""
    return FakeTarget()


@pytest.fixture
def make_server(target: FakeTarget) -> Iterator[Callable[..., ControlServer]]:
    """Start servers on 127.0.0.1, port 0; every one is stopped at teardown."""
    servers: list[ControlServer] = []

    def make(**kwargs: Any) -> ControlServer:
        kwargs.setdefault("port", 0)
        server = ControlServer(kwargs.pop("target", target), **kwargs)
        servers.append(server)
        server.start()
        return server

    yield make
    if target.block is not None:
        target.block.set()
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server: Callable[..., ControlServer]) -> ControlServer:
    return make_server()
