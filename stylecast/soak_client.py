"""The soak's control client: a websocket client in-process, driving the real server."""

from __future__ import annotations

import itertools
import json
import threading
import time

from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect

REPLY_TIMEOUT_S = 5.0


class ControlDriver:
    """Sends ``get_stats`` at ``stats_hz`` and a ``set_style`` every ``style_every_s``,
    cycling through ``styles``, on one connection from its own thread.

    Each request waits for its own reply (matched by id); a failed reply, a timeout or a
    lost connection is recorded in ``failures`` (one line each), never raised.
    """

    def __init__(self, styles: list[str], *, style_every_s: float = 2.0,
                 stats_hz: float = 4.0) -> None:
        if not styles:
            raise ValueError("the soak needs at least one style to switch to")
        self._styles = styles
        self._style_every = style_every_s
        self._period = 1.0 / stats_hz
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)
        self.style_changes = 0
        self.stats_requests = 0
        self.failures: list[str] = []

    def start(self, url: str) -> None:
        """Connect to ``url`` and start driving; returns at once."""
        self._thread = threading.Thread(target=self._run, args=(url,), name="soak-control",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop driving and close the connection; idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(REPLY_TIMEOUT_S + 1)

    def _run(self, url: str) -> None:
        try:
            with connect(url, open_timeout=REPLY_TIMEOUT_S, close_timeout=1) as ws:
                self._drive(ws)
        except (OSError, WebSocketException) as exc:
            if not self._stop.is_set():  # the server going away at shutdown is expected
                self.failures.append(f"connection: {type(exc).__name__}: {exc}")

    def _drive(self, ws: ClientConnection) -> None:
        next_style = time.monotonic() + self._style_every
        styles = itertools.cycle(self._styles[1:] + self._styles[:1])
        while not self._stop.wait(self._period):
            if self._request(ws, {"type": "get_stats"}):
                self.stats_requests += 1
            if time.monotonic() >= next_style:
                next_style += self._style_every
                if self._request(ws, {"type": "set_style", "style": next(styles)}):
                    self.style_changes += 1

    def _request(self, ws: ClientConnection, message: dict) -> bool:
        rid = next(self._ids)
        ws.send(json.dumps({**message, "id": rid}))
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        try:
            while True:
                reply = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
                if reply.get("id") == rid:
                    break
                if reply.get("code") == "rate_limited":  # rate-limited answers carry no id
                    self.failures.append(f"{message['type']}: rate limited")
                    return False
        except TimeoutError:
            self.failures.append(f"{message['type']}: no reply within {REPLY_TIMEOUT_S:g} s")
            return False
        except ConnectionClosed:
            if not self._stop.is_set():
                raise
            return False
        if reply.get("ok") is not True:
            self.failures.append(f"{message['type']}: {reply.get('error')}")
            return False
        return True
