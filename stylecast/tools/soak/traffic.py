"""The soak's clients, in-process, driving the real servers as a streamer's tools do.

* :class:`ControlDriver`, a hotkey deck on one websocket: ``get_stats`` several times a
  second and, every few seconds, the next of a style change, a blend of two styles with a
  crossfade, and a strength change.
* :class:`PageClient`, the control page in a browser: on each (re)load the page, a websocket
  with ``hello``/``list_styles``/``get_stats``, every style's thumbnail; then the live
  preview at its 5 Hz; reloaded every minute or so (a new client each time).
* :class:`StreamViewer`, OBS's media source on the TCP stream: reads and drops the bytes,
  and leaves and rejoins now and then.

Each runs on its own thread and records what failed (one line each, the first few) rather
than raising; ``stop()`` is idempotent and returns within a few seconds.
"""

from __future__ import annotations

import http.client
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

from websockets.exceptions import ConnectionClosed, WebSocketException

from stylecast.control.client import ControlClient

REPLY_TIMEOUT_S = 5.0
MAX_FAILURES = 50  # lines kept per client; the count goes on


class SoakClient:
    """Thread, stop flag and failure log shared by the soak's clients."""

    name = "client"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures: list[str] = []
        self.failure_count = 0

    def start(self, url: str) -> None:
        """Start on ``url`` (``ws://`` or ``tcp://``); returns at once."""
        self._thread = threading.Thread(target=self._guarded, args=(url,),
                                        name=f"soak-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and close the connection; idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(REPLY_TIMEOUT_S + 1)

    def fail(self, what: str) -> None:
        """Record one failure (the first MAX_FAILURES lines are kept)."""
        self.failure_count += 1
        if len(self.failures) < MAX_FAILURES:
            self.failures.append(f"{self.name}: {what}")

    def _guarded(self, url: str) -> None:
        try:
            self._run(url)
        except (OSError, WebSocketException, http.client.HTTPException) as exc:
            if not self._stop.is_set():  # the server going away at shutdown is expected
                self.fail(f"{type(exc).__name__}: {exc}")

    def _run(self, url: str) -> None:
        raise NotImplementedError


def _requester(client: ControlClient, soak: SoakClient,
               stop: threading.Event) -> Callable[[dict[str, Any]], bool]:
    """``request(message)``: send it and wait for its reply; False (and a failure line on
    ``soak``) if it failed."""

    def request(message: dict[str, Any]) -> bool:
        try:
            reply = client.request(message)
        except TimeoutError:
            soak.fail(f"{message['type']}: no reply within {client.timeout:g} s")
            return False
        except ConnectionClosed:
            if not stop.is_set():
                raise
            return False
        if reply.get("code") == "rate_limited":  # rate-limited answers carry no id
            soak.fail(f"{message['type']}: rate limited")
            return False
        if reply.get("ok") is not True:
            soak.fail(f"{message['type']}: {reply.get('error')}")
            return False
        return True

    return request


def _open(url: str) -> ControlClient:
    parts = urlsplit(url)
    return ControlClient(parts.hostname or "127.0.0.1", parts.port or 80,
                         timeout=REPLY_TIMEOUT_S)


class ControlDriver(SoakClient):
    """A hotkey deck: ``get_stats`` at ``stats_hz`` and every ``style_every_s`` the next
    action of a cycle through ``styles``: set a style, blend it with the next one over
    ``transition_ms``, change the strength.

    Attributes:
        style_changes, blends, strength_changes, stats_requests: requests answered ok.
    """

    name = "control"

    def __init__(self, styles: list[str], *, style_every_s: float = 2.0,
                 stats_hz: float = 4.0, transition_ms: float = 500.0) -> None:
        super().__init__()
        if not styles:
            raise ValueError("the soak needs at least one style to switch to")
        self._styles = styles
        self._style_every = style_every_s
        self._period = 1.0 / stats_hz
        self._transition = transition_ms
        self.style_changes = 0
        self.blends = 0
        self.strength_changes = 0
        self.stats_requests = 0

    def actions(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """The endless cycle of (counter name, request): style, blend, strength, ..."""
        names = itertools.cycle(self._styles[1:] + self._styles[:1])
        strengths = itertools.cycle((0.6, 0.85, 1.0))
        while True:
            style = next(names)
            yield "style_changes", {"type": "set_style", "style": style}
            other = next(names)
            if other != style:
                yield "blends", {"type": "blend", "styles": {style: 0.5, other: 0.5},
                                 "transition_ms": self._transition}
            yield "strength_changes", {"type": "set_strength", "value": next(strengths)}

    def _run(self, url: str) -> None:
        with _open(url) as client:
            request = _requester(client, self, self._stop)
            actions = self.actions()
            next_action = time.monotonic() + self._style_every
            while not self._stop.wait(self._period):
                if request({"type": "get_stats"}):
                    self.stats_requests += 1
                if time.monotonic() >= next_action:
                    next_action += self._style_every
                    counter, message = next(actions)
                    if request(message):
                        setattr(self, counter, getattr(self, counter) + 1)


class PageClient(SoakClient):
    """The control page: load (page, websocket, thumbnails), preview at ``preview_hz``,
    reload every ``reload_every_s``.

    Attributes:
        page_loads, previews, thumbnails: requests answered ok (a 503 "no frame yet" for
            a preview counts as neither ok nor failed); pushed: messages the server
            pushed to the page's websocket (stats every second, events).
    """

    name = "page"

    def __init__(self, styles: list[str], *, preview_hz: float = 5.0,
                 reload_every_s: float = 60.0, preview_width: int = 480) -> None:
        super().__init__()
        self._styles = styles
        self._period = 1.0 / preview_hz
        self._reload_every = reload_every_s
        self._width = preview_width
        self.page_loads = 0
        self.previews = 0
        self.thumbnails = 0
        self.pushed = 0  # messages the server pushed (stats, events)

    def _run(self, url: str) -> None:
        while not self._stop.is_set():
            with _open(url) as client:
                self._load(client, _requester(client, self, self._stop))
                reload_at = time.monotonic() + self._reload_every
                while time.monotonic() < reload_at and not self._stop.wait(self._period):
                    status, _ = client.get(f"/preview.jpg?w={self._width}")
                    if status == 200:
                        self.previews += 1
                    elif status != 503:
                        self.fail(f"preview: HTTP {status}")
                    self.pushed += client.drain()  # as a page takes the stats pushed

    def _load(self, client: ControlClient,
              request: Callable[[dict[str, Any]], bool]) -> None:
        status, body = client.get("/")
        if status != 200 or b"<html" not in body[:200].lower():
            self.fail(f"page: HTTP {status}")
        for message in ({"type": "hello", "client": "soak page"}, {"type": "list_styles"},
                        {"type": "get_stats"}):
            request(message)
        for style in self._styles:
            status, body = client.get(f"/thumb/{quote(style)}.png")
            if status == 200 and body.startswith(b"\x89PNG"):
                self.thumbnails += 1
            else:
                self.fail(f"thumbnail {style}: HTTP {status}")
        self.page_loads += 1


class StreamViewer(SoakClient):
    """Reads the TCP stream and drops the bytes; reconnects every ``rejoin_every_s``.

    Attributes:
        joins: connections made; bytes_read: bytes taken in all.
    """

    name = "viewer"

    def __init__(self, *, rejoin_every_s: float = 120.0) -> None:
        super().__init__()
        self._rejoin_every = rejoin_every_s
        self.joins = 0
        self.bytes_read = 0

    def _run(self, url: str) -> None:
        parts = urlsplit(url)
        address = (parts.hostname or "127.0.0.1", parts.port or 0)
        while not self._stop.is_set():
            with socket.create_connection(address, timeout=REPLY_TIMEOUT_S) as conn:
                self.joins += 1
                leave_at = time.monotonic() + self._rejoin_every
                while time.monotonic() < leave_at and not self._stop.is_set():
                    try:
                        data = conn.recv(1 << 16)
                    except TimeoutError:
                        self.fail(f"no stream data for {REPLY_TIMEOUT_S:g} s")
                        break
                    if not data:
                        if not self._stop.is_set():
                            self.fail("the stream closed the connection")
                        break
                    self.bytes_read += len(data)
            self._stop.wait(0.5)  # a viewer takes a moment to come back
