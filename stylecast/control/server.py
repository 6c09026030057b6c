"""The control server: the websocket protocol, pushed events and the web page on one port.

One thread runs one asyncio event loop; target calls run in small worker pools so a slow
pipeline call delays only the client that made it. Events from the pipeline travel
pipeline thread -> bounded deque -> event loop -> each client's bounded :class:`Outbox`,
so no client, however slow, ever makes the pipeline wait.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
import math
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from stylecast import __version__
from stylecast.control.access import Access, check_bind
from stylecast.control.api import ControlTarget
from stylecast.control.flow import Outbox, TokenBucket
from stylecast.control.protocol import (
    PROTOCOL_VERSION,
    clean,
    encode,
    error_reply,
    handle,
    handle_message,
)
from stylecast.control.routes import HttpRoutes, load_page
from stylecast.control.schema import MAX_BLEND_STYLES, MAX_TRANSITION_MS
from stylecast.errors import ConfigError, StylecastError

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765
_PENDING_EVENTS = 256
_GRACE_S = 0.5  # per stop() phase: closing handshakes, then cancelling stuck handlers


class _QuietLog(logging.LoggerAdapter[logging.Logger]):
    """websockets logs every HTTP request at INFO; the page polls the preview several
    times a second, so those records go to DEBUG instead of flooding the console."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        super().log(logging.DEBUG if level == logging.INFO else level, msg, *args, **kwargs)


class _State(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"


@dataclass(eq=False)
class _Client:
    ws: ServerConnection
    outbox: Outbox
    bucket: TokenBucket


class ControlServer:
    """Serves :mod:`stylecast.control.protocol` over websockets, plus the web page.

    Endpoints on one port: websocket ``/ws``; HTTP GET ``/`` (control page),
    ``/thumb/<style>.png``, ``/preview.jpg?w=N`` and ``/snapshot.png``. See
    ``docs/protocol.md``.

    Lifecycle: ``start()`` once (returns when listening), then ``stop()``, which is
    idempotent and also valid before ``start()``. A stopped server cannot be restarted;
    make a new one. Usable as a context manager.

    Args:
        target: the pipeline to drive; ``target.add_listener`` is called by ``start()``.
        host: address to bind. Anything but a loopback address requires ``token``.
        port: TCP port; 0 picks a free one (read :attr:`port` after ``start()``).
        token: shared secret clients present as ``?token=`` or ``Authorization: Bearer``.
        max_message_bytes: largest accepted websocket message; larger ones close the
            connection with code 1009.
        rate_limit: (messages per second, burst) per connection; excess messages are
            answered with a ``rate_limited`` error and not processed.
        max_clients: concurrent websocket connections; more get HTTP 503.
        stats_interval_s: period of the pushed ``stats`` event.

    Raises:
        ConfigError: an argument is invalid, or a non-loopback host has no token.
    """

    def __init__(self, target: ControlTarget, *, host: str = "127.0.0.1",
                 port: int = DEFAULT_PORT, token: str | None = None,
                 max_message_bytes: int = 64 * 1024,
                 rate_limit: tuple[float, int] = (50.0, 100), max_clients: int = 16,
                 stats_interval_s: float = 1.0) -> None:
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            raise ConfigError(f"control port must be an integer from 0 to 65535, got {port!r}")
        check_bind(host, token)
        rate, burst = rate_limit
        if not (math.isfinite(rate) and rate > 0 and isinstance(burst, int) and burst >= 1):
            raise ConfigError(f"rate_limit must be (messages per second > 0, burst >= 1), "
                              f"got {rate_limit!r}")
        if not 1024 <= max_message_bytes <= 16 * 2**20:
            raise ConfigError(f"max_message_bytes must be 1 KiB to 16 MiB, "
                              f"got {max_message_bytes}")
        if max_clients < 1 or not 0.05 <= stats_interval_s <= 60:
            raise ConfigError(f"need max_clients >= 1 and stats_interval_s in 0.05..60, got "
                              f"{max_clients} and {stats_interval_s}")
        try:
            page = load_page()
        except OSError as exc:
            raise StylecastError(f"the control page is missing from this installation "
                                 f"({exc}); reinstall stylecast") from exc
        self._target = target
        # "localhost" may resolve to 127.0.0.1 and ::1, and with port 0 each would get a
        # different port; one address keeps .port meaningful.
        self._host = "127.0.0.1" if host.lower() == "localhost" else host
        self._port = port
        self._max_bytes = max_message_bytes
        self._rate, self._burst = float(rate), burst
        self._max_clients = max_clients
        self._stats_interval = float(stats_interval_s)
        self._page = page
        self._access = Access(token=token)
        self._info = {"limits": {
            "max_message_bytes": max_message_bytes, "rate_per_s": self._rate,
            "burst": burst, "max_blend_styles": MAX_BLEND_STYLES,
            "max_transition_ms": int(MAX_TRANSITION_MS)}, "stats_interval_s": self._stats_interval}
        self._lock = threading.Lock()
        self._state = _State.NEW
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = asyncio.Event()
        self._started = threading.Event()
        self._accepting = threading.Event()
        self._start_error: StylecastError | None = None
        self._clients: set[_Client] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._events: deque[dict[str, Any]] = deque(maxlen=_PENDING_EVENTS)
        self._drain_scheduled = False  # guarded by _lock
        self._warned_bad_event = False
        self._control_pool: ThreadPoolExecutor | None = None
        self._media_pool: ThreadPoolExecutor | None = None

    @property
    def port(self) -> int:
        """The listening port: the real one after ``start()``, even if 0 was asked for."""
        return self._port

    @property
    def url(self) -> str:
        """The control page's URL (without the token)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}/"

    def start(self, timeout: float = 10.0) -> None:
        """Bind, start serving in a background thread and register the event listener.

        Raises:
            ConfigError: the address cannot be bound (port in use, unknown host).
            StylecastError: the server was started before, or did not come up in time.
        """
        with self._lock:
            if self._state is not _State.NEW:
                raise StylecastError(f"the control server is {self._state.value}; a server "
                                     "starts once, create a new one to serve again")
            self._state = _State.RUNNING
            self._control_pool = ThreadPoolExecutor(2, thread_name_prefix="stylecast-ctl")
            self._media_pool = ThreadPoolExecutor(2, thread_name_prefix="stylecast-media")
            # A loop_factory keeps the Runner from making this loop the caller's current one.
            runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)
            self._loop = runner.get_loop()
            self._thread = threading.Thread(
                target=self._run, args=(runner, self._media_pool),
                name="stylecast-control", daemon=True)
            self._thread.start()
        if not self._started.wait(timeout) or self._start_error is not None:
            error = self._start_error or StylecastError(
                f"the control server did not start listening within {timeout:g} s")
            self.stop()
            raise error
        self._accepting.set()
        try:
            self._target.add_listener(self._on_target_event)
        except BaseException:
            self.stop()
            raise
        log.info("control server listening on %s", self.url)

    def stop(self, timeout: float = 5.0) -> None:
        """Close every connection and the port; idempotent, returns within ``timeout``."""
        with self._lock:
            if self._state is _State.STOPPED:
                return
            self._state = _State.STOPPED
        self._accepting.clear()
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None:
            try:
                loop.call_soon_threadsafe(self._stopping.set)
            except RuntimeError:
                pass  # the loop already ended (start failed)
            thread.join(timeout)
            if thread.is_alive():
                log.warning("control server thread did not end within %.1f s", timeout)
        for pool in (self._control_pool, self._media_pool):
            if pool is not None:
                # A target call cannot be interrupted; don't wait for one that hangs.
                pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> ControlServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- event loop thread -------------------------------------------------------------

    def _run(self, runner: asyncio.Runner, media_pool: ThreadPoolExecutor) -> None:
        # The Runner cancels whatever is still pending when it closes, like asyncio.run.
        with runner:
            runner.run(self._serve(media_pool))

    async def _serve(self, media_pool: ThreadPoolExecutor) -> None:
        routes = HttpRoutes(target=self._target, access=self._access, page=self._page,
                            pool=media_pool,
                            can_accept_client=lambda: len(self._clients) < self._max_clients)
        try:
            server: Server = await serve(
                self._on_connection, self._host, self._port,
                process_request=routes.process_request, max_size=self._max_bytes,
                compression=None, open_timeout=10, close_timeout=1,
                server_header=f"stylecast/{__version__}",
                logger=_QuietLog(logging.getLogger("stylecast.control.wire")))
        except OSError as exc:
            self._start_error = ConfigError(
                f"cannot listen on {self._host}:{self._port} ({exc.strerror or exc}); choose "
                "another control port or stop the program that uses this one")
            self._started.set()
            return
        self._port = server.sockets[0].getsockname()[1]
        self._started.set()
        ticker = asyncio.create_task(self._push_stats())
        try:
            await self._stopping.wait()
        finally:
            ticker.cancel()
            await self._close(server)

    async def _close(self, server: Server) -> None:
        server.close()  # stop listening; close every connection with 1001 (going away)
        try:
            await asyncio.wait_for(asyncio.shield(server.wait_closed()), _GRACE_S)
            return
        except TimeoutError:
            pass
        # A handler still waits on a target call that does not return: stop waiting for
        # it. The worker thread itself cannot be interrupted and ends when the call does.
        log.warning("control: a client request is stuck in the pipeline; closing anyway")
        for task in list(self._handlers):
            task.cancel()
        try:
            await asyncio.wait_for(server.wait_closed(), _GRACE_S)
        except TimeoutError:
            log.warning("control connections did not close within %.1f s", 2 * _GRACE_S)

    async def _on_connection(self, ws: ServerConnection) -> None:
        client = _Client(ws, Outbox(), TokenBucket(rate=self._rate, burst=self._burst))
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
        self._clients.add(client)
        writer = asyncio.create_task(self._write(client))
        try:
            async for message in ws:
                reply = await self._answer(client, message)
                await ws.send(encode(reply))
        except ConnectionClosed:
            pass  # 1009 (too big) and abrupt disconnects end up here; nothing to answer
        finally:
            self._clients.discard(client)
            if handler is not None:
                self._handlers.discard(handler)
            writer.cancel()

    async def _answer(self, client: _Client, message: str | bytes) -> dict[str, Any]:
        if not client.bucket.allow():
            return error_reply("error", "rate_limited", f"rate limit exceeded: at most "
                               f"{self._rate:g} messages per second (bursts of {self._burst})"
                               "; this message was not processed, send it again later")
        if not isinstance(message, str):
            return error_reply("error", "bad_json", "binary frames are not supported; send "
                               "each message as JSON text")
        loop = asyncio.get_running_loop()
        call = functools.partial(handle, self._target, message, server_info=self._info)
        return await loop.run_in_executor(self._control_pool, call)

    @staticmethod
    async def _write(client: _Client) -> None:
        try:
            while True:
                await client.ws.send(await client.outbox.get())
        except ConnectionClosed:
            pass

    async def _push_stats(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        request = {"type": "get_stats"}
        while True:
            due = max(due + self._stats_interval, loop.time())
            await asyncio.sleep(due - loop.time())
            if not self._clients:
                continue
            reply = await loop.run_in_executor(
                self._control_pool, handle_message, self._target, request)
            if reply.get("ok"):
                self._broadcast(encode(reply), stats=True)

    def _broadcast(self, text: str, *, stats: bool) -> None:
        for client in list(self._clients):
            client.outbox.put(text, stats=stats)

    # -- pipeline threads --------------------------------------------------------------

    def _on_target_event(self, event: dict[str, Any]) -> None:
        """The target's listener: never blocks, never raises, no-op once stopped."""
        if not self._accepting.is_set() or self._loop is None:
            return
        with self._lock:
            self._events.append(event)  # a full deque drops its oldest event
            if self._drain_scheduled:
                return
            self._drain_scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._drain_events)
        except RuntimeError:
            pass  # the loop closed between the check above and now: we are stopping

    def _drain_events(self) -> None:
        with self._lock:
            events = list(self._events)
            self._events.clear()
            self._drain_scheduled = False
        for event in events:
            try:
                cleaned = clean(event)
                kind = cleaned.get("type") if isinstance(cleaned, dict) else None
                if not isinstance(kind, str):
                    raise TypeError("an event must be a dict with a string 'type'")
            except TypeError as exc:
                if not self._warned_bad_event:
                    self._warned_bad_event = True
                    log.warning("control: dropping a pipeline event that cannot be sent "
                                "(%s); further ones are dropped silently", exc)
                continue
            self._broadcast(encode(cleaned), stats=kind == "stats")


__all__ = ["DEFAULT_PORT", "PROTOCOL_VERSION", "ControlServer"]
