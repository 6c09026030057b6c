"""The OBS bridge: stylecast as an OBS source, driven by OBS scenes and custom events.

Through obs-websocket 5 (obs-websocket-py) the bridge

* creates or updates the stylecast input in a scene: the Lua source from
  ``obs/stylecast_source.lua`` (shared memory, ~1 frame of latency) when that script is
  loaded and mode is "shm", else a media source on stylecast's TCP NUT stream with
  ``buffering_mb`` 0 (~130 ms);
* sets the style mapped to the program scene whenever the program scene changes;
* answers ``CustomEvent``s carrying a ``stylecast`` key with
  :func:`stylecast.control.protocol.handle_message` and broadcasts the reply under
  ``stylecast_reply`` (docs/protocol.md), a different key so it never reads its own replies;
* reconnects with backoff when OBS goes away, logging one line per state change.

obs-websocket-py traps (docs/obs.md): a failed request does not raise (every status is
checked), and its event callbacks run on its receive thread, where any exception but
ValueError kills the thread, so the callback only enqueues; one worker thread does the rest.
The address and password are never logged, raised or shown in ``repr``.
"""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from obswebsocket import obsws, requests
from obswebsocket.exceptions import ConnectionFailure, MessageTimeout
from websocket import WebSocketException

from stylecast.config import OBS_MODES, ObsConfig
from stylecast.control.api import ControlTarget
from stylecast.control.flow import TokenBucket
from stylecast.control.protocol import MAX_MESSAGE_CHARS, error_reply, handle_message
from stylecast.errors import ConfigError, StylecastError
from stylecast.retry import retry_with_backoff
from stylecast.shipped import obs_script

log = logging.getLogger(__name__)

LUA_KIND = "stylecast"  # the source id obs/stylecast_source.lua registers
MEDIA_KIND = "ffmpeg_source"
REQUEST_KEY, REPLY_KEY = "stylecast", "stylecast_reply"
BACKOFF_S = (0.5, 10.0)  # first and longest wait between connection attempts
POLL_S = 0.1             # worker wake-up: how fast stop() and a lost connection are seen
HEALTH_S = 2.0           # a quiet connection is probed this often
EVENTS_MAX = 256
RATE = (50.0, 100)       # messages per second and burst, as the websocket server
_TRANSPORT_ERRORS = (OSError, WebSocketException, MessageTimeout, ConnectionFailure)


class StyleCycler(Protocol):
    """A target that can step through its styles (LiveController)."""

    def next_style(self) -> dict[str, Any]: ...

    def previous_style(self) -> dict[str, Any]: ...


def command_handler(target: StyleCycler) -> Callable[[str], None]:
    """The callback for SharedMemorySink commands from the OBS hotkeys.

    Returns:
        A function taking ``"next_style"`` or ``"previous_style"``; other commands are
        logged and ignored (a newer script may know more).
    """
    actions = {"next_style": target.next_style, "previous_style": target.previous_style}

    def run(command: str) -> None:
        action = actions.get(command)
        if action is None:
            log.warning("obs: ignoring unknown command %r from the OBS script", command[:32])
            return
        action()
    return run


class _Lost(Exception):
    """The connection to OBS is gone; the worker reconnects."""


class _HideAddress(logging.Filter):
    """obs-websocket-py logs the URL at INFO and the Identify payload at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)
        return not text.startswith(("Connecting to", "Sending Identify", "Got Hello"))


def _quiet_library() -> None:
    library = logging.getLogger("obswebsocket.core")
    if not any(isinstance(f, _HideAddress) for f in library.filters):
        library.addFilter(_HideAddress())


class ObsBridge:
    """Keeps a stylecast source in OBS and lets OBS scenes and custom events drive styles.

    Args:
        target: the pipeline to drive (a LiveController).
        host, port, password: obs-websocket address and password.
        scene: the scene for the input; None = the program scene at connect time (a named
            scene that does not exist is created).
        source_name: the input's name in OBS.
        mode: "shm" (the Lua source; falls back to the media source when the script is not
            loaded and ``stream_url`` is set) or "stream" (media source).
        stream_url: stylecast's stream, e.g. ``tcp://127.0.0.1:9000``; needed for "stream".
        shm_name: the shared-memory name the Lua source reads.
        scene_styles: OBS scene name -> style name.
        transition_ms: crossfade for scene-driven style changes.
        timeout_s: connect and request timeout.

    Lifecycle: ``start()`` returns at once (connecting happens in the background and is
    retried forever); ``stop()`` is idempotent and returns within about ``timeout_s``.
    """

    def __init__(self, target: ControlTarget, *, host: str = "localhost", port: int = 4455,
                 password: str | None = None, scene: str | None = None,
                 source_name: str = "stylecast", mode: str = "shm",
                 stream_url: str | None = None, shm_name: str = "stylecast",
                 scene_styles: Mapping[str, str] | None = None, transition_ms: float = 0.0,
                 timeout_s: float = 2.0) -> None:
        if mode not in OBS_MODES:
            raise ConfigError(f"OBS mode must be one of {', '.join(OBS_MODES)}, got {mode!r}")
        if mode == "stream" and not (stream_url or "").startswith("tcp://"):
            raise ConfigError("OBS mode 'stream' needs stylecast's tcp:// stream URL, e.g. "
                              "--stream tcp://127.0.0.1:9000")
        self.target = target
        self._address = (host, port)
        self._password = password or ""
        self.scene = scene
        self.source_name = source_name
        self.mode = mode
        self.stream_url = stream_url
        self.shm_name = shm_name
        self.scene_styles = dict(scene_styles or {})
        self.transition_ms = transition_ms
        self.timeout_s = timeout_s
        #: the input kind the bridge put into OBS on the last connect, or None.
        self.input_kind: str | None = None
        #: events dropped because the worker fell behind (bounded queue).
        self.dropped_events = 0
        self._events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue(EVENTS_MAX)
        self._bucket = TokenBucket(rate=RATE[0], burst=RATE[1])
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._state = "stopped"

    @classmethod
    def from_config(cls, target: ControlTarget, config: ObsConfig, **overrides: Any
                    ) -> ObsBridge:
        """A bridge from ``[obs]`` settings; keyword ``overrides`` win (CLI flags)."""
        kwargs: dict[str, Any] = dict(
            host=config.host, port=config.port, password=config.password, scene=config.scene,
            source_name=config.source_name, mode=config.mode, stream_url=config.stream_url,
            shm_name=config.shm_name, scene_styles=config.scene_styles,
            transition_ms=config.transition_ms)
        kwargs.update({k: v for k, v in overrides.items() if v is not None})
        return cls(target, **kwargs)

    def __repr__(self) -> str:
        return (f"ObsBridge(state={self._state!r}, mode={self.mode!r}, "
                f"source_name={self.source_name!r})")

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Start the background worker; a second call does nothing."""
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            _quiet_library()
            self._thread = threading.Thread(target=self._run, name="obs-bridge", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Disconnect and stop the worker; idempotent."""
        self._stop.set()
        with self._lock:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.timeout_s + 1.0)

    @property
    def connected(self) -> bool:
        """True while connected to OBS and set up."""
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        """Wait until connected and set up; True if so within ``timeout`` seconds."""
        return self._connected.wait(timeout)

    def _set_state(self, state: str, message: str, level: int = logging.INFO) -> None:
        if state != self._state:
            self._state = state
            log.log(level, "obs: %s", message)

    # -- worker ------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            client = retry_with_backoff(lambda _number: self._open(), self._stop, BACKOFF_S)
            if client is None:
                break
            try:
                self._prepare(client)
                self._connected.set()
                self._set_state("connected", f"connected; OBS shows stylecast as "
                                f"{self.source_name!r} ({self.input_kind or 'no source'})")
                self._serve(client)
            except _Lost:
                self._set_state("lost", "lost the connection to OBS; reconnecting",
                                logging.WARNING)
            finally:
                self._connected.clear()
                self._close(client)
        self._set_state("stopped", "bridge stopped")

    def _open(self) -> obsws | None:
        try:  # obs-websocket-py connects without a timeout; probe the port with one first
            socket.create_connection(self._address, timeout=self.timeout_s).close()
        except OSError:
            self._set_state("waiting", "OBS is not reachable at the configured address "
                            "(is OBS running with its websocket server on?); retrying")
            return None
        client = obsws(*self._address, self._password, legacy=False, timeout=self.timeout_s)
        client.register(self._on_event)
        try:
            client.connect()
        except ConnectionFailure:
            self._set_state("refused", "OBS refused the connection: check the websocket "
                            "password (STYLECAST_OBS_PASSWORD or [obs] password)",
                            logging.ERROR)
            self._close(client)
            return None
        except (OSError, WebSocketException, ValueError, KeyError):
            self._set_state("waiting", "OBS's websocket did not complete the handshake; "
                            "retrying", logging.WARNING)
            self._close(client)
            return None
        return client

    @staticmethod
    def _close(client: obsws) -> None:
        try:
            client.disconnect()
        except (*_TRANSPORT_ERRORS, AttributeError):
            pass  # already gone; nothing to release

    def _on_event(self, event: Any) -> None:
        # obs-websocket-py's receive thread: only filter and enqueue, never raise.
        name = getattr(event, "name", "")
        data = getattr(event, "datain", None)
        if not isinstance(data, dict):
            return
        if name == "CustomEvent" and REQUEST_KEY not in data:
            return  # our own replies and other tools' events
        if name not in ("CustomEvent", "CurrentProgramSceneChanged"):
            return
        try:
            self._events.put_nowait((name, data))
        except queue.Full:
            self.dropped_events += 1

    def _serve(self, client: obsws) -> None:
        last_probe = time.monotonic()
        while not self._stop.is_set():
            try:
                name, data = self._events.get(timeout=POLL_S)
            except queue.Empty:
                if client.thread_recv is None or not client.thread_recv.is_alive():
                    raise _Lost() from None
                if time.monotonic() - last_probe >= HEALTH_S:
                    self._request(client, "GetVersion")
                    last_probe = time.monotonic()
                continue
            if name == "CurrentProgramSceneChanged":
                self._scene_changed(data.get("sceneName"))
            else:
                self._custom_event(client, data[REQUEST_KEY])

    def _request(self, client: obsws, name: str, **data: Any) -> Any:
        """Send one request; raises _Lost on a transport failure. Check ``status``."""
        try:
            return client.call(getattr(requests, name)(**data))
        except _TRANSPORT_ERRORS as exc:
            raise _Lost() from exc

    def _checked(self, client: obsws, name: str, **data: Any) -> dict[str, Any] | None:
        response = self._request(client, name, **data)
        if not response.status:
            log.warning("obs: request %s failed", name)
            return None
        return dict(response.datain)

    # -- events ------------------------------------------------------------------------
    def _scene_changed(self, scene: object) -> None:
        style = self.scene_styles.get(scene) if isinstance(scene, str) else None
        if style is None:
            return
        try:
            self.target.set_style(style, self.transition_ms)
        except StylecastError as exc:
            log.warning("obs: scene %r maps to style %r, which failed: %s", scene, style, exc)
            return
        log.info("obs: scene %r -> style %r", scene, style)

    def _custom_event(self, client: obsws, message: object) -> None:
        if not self._bucket.allow():
            reply = error_reply("error", "rate_limited", f"rate limit exceeded: at most "
                                f"{RATE[0]:g} messages per second (bursts of {RATE[1]}); this "
                                "message was not processed, send it again later")
        elif len(json.dumps(message, default=str)) > MAX_MESSAGE_CHARS:
            reply = error_reply("error", "too_big", f"the message is longer than "
                                f"{MAX_MESSAGE_CHARS} characters")
        else:
            reply = handle_message(self.target, message)
        self._checked(client, "BroadcastCustomEvent", eventData={REPLY_KEY: reply})

    # -- setup -------------------------------------------------------------------------
    def _prepare(self, client: obsws) -> None:
        while not self._events.empty():  # left over from a previous connection
            self._events.get_nowait()
        kinds = (self._checked(client, "GetInputKindList", unversioned=False) or {}).get(
            "inputKinds", [])
        kind, settings = self._choose_input(LUA_KIND in kinds)
        current = self._checked(client, "GetCurrentProgramScene") or {}
        program = current.get("currentProgramSceneName") or current.get("sceneName")
        scene = self.scene or program
        self.input_kind = None
        if kind is not None and scene:
            self._ensure_scene(client, scene)
            if self._ensure_input(client, scene, kind, settings):
                self.input_kind = kind
        self._scene_changed(program)

    def _choose_input(self, lua_loaded: bool) -> tuple[str | None, dict[str, Any]]:
        if self.mode == "shm" and lua_loaded:
            return LUA_KIND, {"shm_name": self.shm_name}
        if self.stream_url:
            if self.mode == "shm":
                log.warning("obs: the stylecast script is not loaded in OBS (Tools -> "
                            "Scripts -> + %s); using a media source", obs_script())
            return MEDIA_KIND, {"is_local_file": False, "input": self.stream_url,
                                "input_format": "nut", "buffering_mb": 0,
                                "reconnect_delay_sec": 1, "close_when_inactive": False,
                                "restart_on_activate": False,
                                "hw_decode": False}
        log.error("obs: the stylecast script is not loaded in OBS: add %s in Tools -> "
                  "Scripts, or use --obs-mode stream", obs_script())
        return None, {}

    def _ensure_scene(self, client: obsws, scene: str) -> None:
        scenes = (self._checked(client, "GetSceneList") or {}).get("scenes", [])
        if scene not in {s.get("sceneName") for s in scenes}:
            self._checked(client, "CreateScene", sceneName=scene)

    def _ensure_input(self, client: obsws, scene: str, kind: str,
                      settings: dict[str, Any]) -> bool:
        inputs = (self._checked(client, "GetInputList") or {}).get("inputs", [])
        existing = {i.get("inputName"): i.get("inputKind") for i in inputs}
        if existing.get(self.source_name) not in (None, kind):
            self._checked(client, "RemoveInput", inputName=self.source_name)
            self._wait_removed(client)
            existing.pop(self.source_name, None)
        if self.source_name not in existing:
            return self._checked(client, "CreateInput", sceneName=scene,
                                 inputName=self.source_name, inputKind=kind,
                                 inputSettings=settings, sceneItemEnabled=True) is not None
        if self._checked(client, "SetInputSettings", inputName=self.source_name,
                         inputSettings=settings, overlay=True) is None:
            return False
        item = self._request(client, "GetSceneItemId", sceneName=scene,
                             sourceName=self.source_name)
        if not item.status:
            return self._checked(client, "CreateSceneItem", sceneName=scene,
                                 sourceName=self.source_name) is not None
        return True

    def _wait_removed(self, client: obsws) -> None:
        # RemoveInput releases asynchronously; the name is free once it leaves the list.
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and not self._stop.is_set():
            inputs = (self._checked(client, "GetInputList") or {}).get("inputs", [])
            if self.source_name not in {i.get("inputName") for i in inputs}:
                return
            time.sleep(0.05)
