"""A client of the control server, as a Stream Deck script, the soak or a test drives it.

The websocket protocol (docs/protocol.md): a request is a JSON object with a ``type`` and,
to be answered, an ``id``; its reply carries the same ``id``. The server also pushes
messages of its own (stats every second, events), which carry no ``id``; an error it cannot
tie to a request (a message that is not JSON, a rate limit) carries none either, but says
``"ok": false``. The HTTP side serves the control page, thumbnails, the preview and
snapshots.

Blocking, one connection, one thread at a time (websockets' sync client); a caller that
needs several clients opens several.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import time
from typing import Any

from websockets.sync.client import ClientConnection, connect

#: How long a reply or an HTTP answer may take by default, seconds.
TIMEOUT_S = 5.0


def is_push(message: dict[str, Any]) -> bool:
    """Whether ``message`` was pushed by the server rather than answering a request."""
    return "id" not in message and message.get("ok") is not False


def next_reply(ws: ClientConnection, timeout: float = TIMEOUT_S, *,
               rid: Any = None) -> tuple[dict[str, Any], int]:
    """The next message on ``ws`` that is not pushed (with ``rid``, the reply to that request
    or an error without an id), and how many pushed messages were passed over on the way.
    Raises TimeoutError when none came within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pushed = 0
    while True:
        message: dict[str, Any] = json.loads(
            ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if is_push(message):
            pushed += 1
        elif rid is None or message.get("id") in (rid, None):
            return message, pushed


def drain(ws: ClientConnection) -> int:
    """Take every message already received on ``ws``; how many there were."""
    taken = 0
    while True:
        try:
            ws.recv(timeout=0)
        except TimeoutError:
            return taken
        taken += 1


def http_get(host: str, port: int, path: str, *, headers: dict[str, str] | None = None,
             method: str = "GET",
             timeout: float = TIMEOUT_S) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request on a fresh connection (the server closes each one): status,
    headers (lower-case names) and body."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return (response.status, {k.lower(): v for k, v in response.getheaders()},
                response.read())
    finally:
        conn.close()


class ControlClient:
    """One websocket connection to a control server, plus its HTTP endpoints.

    Args:
        host, port: where the server listens.
        token: the control token, when the server wants one (sent as ``?token=``).
        timeout: seconds to connect, and to wait for each reply or HTTP answer.

    ``close()`` is idempotent; the client is also a context manager.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 8765, *,
                 token: str | None = None, timeout: float = TIMEOUT_S) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        query = "" if token is None else f"?token={token}"
        # Entered as the context manager websockets wants it to be; close() leaves it.
        self._exit = contextlib.ExitStack()
        self.ws: ClientConnection = self._exit.enter_context(
            connect(f"ws://{host}:{port}/ws{query}", open_timeout=timeout, close_timeout=1))
        self.pushed = 0  # pushed messages passed over while waiting for replies
        self._ids = itertools.count(1)

    def send(self, message: dict[str, Any]) -> Any:
        """Send ``message`` with a fresh ``id`` unless it has one; returns the id."""
        message = {"id": next(self._ids), **message}
        self.ws.send(json.dumps(message))
        return message["id"]

    def request(self, message: dict[str, Any] | None = None, /,
                **fields: Any) -> dict[str, Any]:
        """Send a request (``message`` and/or keyword fields) and return its reply.
        Raises TimeoutError when no reply came in time."""
        rid = self.send({**(message or {}), **fields})
        reply, pushed = next_reply(self.ws, self.timeout, rid=rid)
        self.pushed += pushed
        return reply

    def drain(self) -> int:
        """Take every message already received (as a page takes pushed stats)."""
        return drain(self.ws)

    def get(self, path: str) -> tuple[int, bytes]:
        """HTTP GET ``path`` on the server: status and body."""
        status, _headers, body = http_get(self.host, self.port, path, timeout=self.timeout)
        return status, body

    def close(self) -> None:
        self._exit.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
