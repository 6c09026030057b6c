"""The control protocol: one JSON request in, one JSON-compatible reply out, no I/O.

The websocket server, the OBS bridge (``BroadcastCustomEvent`` payloads) and tests all go
through :func:`handle` or :func:`handle_message`, so every transport validates and answers
identically. ``docs/protocol.md`` is the reference for clients; keep the two in step and
bump :data:`PROTOCOL_VERSION` (minor for additions, major for anything a client could
break on).
"""

from __future__ import annotations

import base64
import json
import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from stylecast import __version__
from stylecast.control.api import ControlTarget
from stylecast.control.schema import MESSAGES, Invalid, request_id, validate
from stylecast.errors import StylecastError, StyleNotFound

log = logging.getLogger(__name__)

PROTOCOL_VERSION = "1.0"
#: Longest request :func:`handle` parses; the websocket server enforces the same in bytes.
MAX_MESSAGE_CHARS = 64 * 1024
_RESERVED = ("type", "ok", "id", "error", "code")
_MAX_DEPTH = 8

Reply = dict[str, Any]


class _NotJSON(TypeError):
    """A target returned something that has no JSON form."""


def handle(target: ControlTarget, message_text: str, *,
           server_info: Mapping[str, Any] | None = None) -> Reply:
    """Parse, validate and carry out one request; never raises.

    Args:
        target: the pipeline to drive.
        message_text: one request as JSON text, e.g. ``'{"type": "pause", "id": 7}'``.
        server_info: extra JSON-compatible fields for the ``hello`` reply (the server adds
            its limits there).

    Returns:
        The reply: a JSON-compatible dict with ``type`` and ``ok``, the request's ``id`` if
        it had a valid one, and either the result or ``error`` (one sentence) and
        ``code`` (a stable machine-readable word, see ``docs/protocol.md``).
    """
    if not isinstance(message_text, str):
        return error_reply("error", "bad_json", "messages must be JSON text, not binary data")
    if len(message_text) > MAX_MESSAGE_CHARS:
        return error_reply("error", "too_big", f"the message has {len(message_text)} "
                           f"characters; the limit is {MAX_MESSAGE_CHARS}")
    try:
        message = json.loads(message_text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        # RecursionError: deeply nested arrays exhaust the C decoder's stack guard.
        reason = str(exc) if isinstance(exc, ValueError) else "it is nested too deeply"
        return error_reply("error", "bad_json", f"the message is not valid JSON: {reason}")
    return handle_message(target, message, server_info=server_info)


def handle_message(target: ControlTarget, message: object, *,
                   server_info: Mapping[str, Any] | None = None) -> Reply:
    """Like :func:`handle` for an already-decoded message (the OBS bridge's path)."""
    if not isinstance(message, dict):
        return error_reply("error", "bad_request", "a message must be a JSON object with a "
                           f"'type' field, got {_json_kind(message)}")
    rid: str | int | None = None
    if "id" in message:
        try:
            rid = request_id(message["id"], "'id'")
        except Invalid as exc:
            return error_reply(_known_type(message), "bad_request", str(exc))
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in MESSAGES:
        if "type" not in message:
            why = "the message has no 'type' field"
        elif isinstance(kind, str):
            why = f"unknown message type {kind[:40]!r}"
        else:
            why = f"'type' must be a string, got {_json_kind(kind)}"
        return error_reply("error", "unknown_type",
                           f"{why}; expected one of: {', '.join(MESSAGES)}", rid)
    try:
        args = validate(kind, message)
    except Invalid as exc:
        return error_reply(kind, "bad_request", str(exc), rid)
    return _call(target, kind, args, rid, server_info or {})


def error_reply(kind: str, code: str, error: str, rid: str | int | None = None) -> Reply:
    """The reply for a failed request.

    Args:
        kind: the request's type if it was a known one, else ``"error"``.
        code: a stable word clients can switch on (``bad_json``, ``bad_request``, ...).
        error: one sentence for the user: what went wrong and what to do.
        rid: the request's id, echoed so clients can match the reply.
    """
    reply: Reply = {"type": kind, "ok": False}
    if rid is not None:
        reply["id"] = rid
    reply.update(code=code, error=error)
    return reply


def encode(reply: Mapping[str, Any]) -> str:
    """Serialize a reply or event produced by this module as compact JSON text.

    ``ensure_ascii`` stays on so a lone surrogate a client sent (valid in JSON, invalid in
    UTF-8) is escaped rather than breaking the websocket's UTF-8 encoding.
    """
    return json.dumps(reply, separators=(",", ":"), allow_nan=False)


def clean(value: Any, depth: int = 0) -> Any:
    """A JSON-compatible copy of what a target returned.

    numpy scalars become Python numbers, tuples become lists and non-finite floats become
    None (JSON has no NaN; browsers' ``JSON.parse`` rejects it).

    Raises:
        TypeError: a value has no JSON form or nests deeper than 8 levels.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= _MAX_DEPTH:
        raise _NotJSON(f"nested deeper than {_MAX_DEPTH} levels")
    if isinstance(value, list | tuple):
        return [clean(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise _NotJSON("a dict has non-string keys")
        return {k: clean(v, depth + 1) for k, v in value.items()}
    raise _NotJSON(f"a value of type {type(value).__name__}")


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number; send finite numbers only")


def _json_kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _known_type(message: Mapping[str, Any]) -> str:
    kind = message.get("type")
    return kind if isinstance(kind, str) and kind in MESSAGES else "error"


def _call(target: ControlTarget, kind: str, args: dict[str, Any], rid: str | int | None,
          server_info: Mapping[str, Any]) -> Reply:
    try:
        reply_type, body = _DISPATCH[kind](target, args, server_info)
        body = clean(body)
    except StyleNotFound as exc:
        return error_reply(kind, "style_not_found", str(exc), rid)
    except StylecastError as exc:
        return error_reply(kind, "failed", str(exc), rid)
    except _NotJSON as exc:
        log.error("control: %s returned %s, which cannot be sent as JSON", kind, exc)
        return error_reply(kind, "internal", f"{kind} failed inside stylecast: the pipeline "
                           "returned a value that cannot be sent as JSON; please report "
                           "this bug with the log", rid)
    except Exception as exc:  # noqa: BLE001 - a remote client must get a reply, not a drop
        # A bug in the pipeline must not take the control connection (or the OBS bridge)
        # down with it: the client gets a reply, the traceback goes to the log.
        log.exception("control: %s raised an unexpected error", kind)
        return error_reply(kind, "internal", f"{kind} failed inside stylecast "
                           f"({type(exc).__name__}: {exc}); see the stylecast log", rid)
    reply: Reply = {"type": reply_type, "ok": True}
    if rid is not None:
        reply["id"] = rid
    reply.update((k, v) for k, v in body.items() if k not in _RESERVED)
    return reply


Body = tuple[str, dict[str, Any]]


def _state(kind: str, state: object) -> Body:
    if not isinstance(state, dict):
        raise _NotJSON(f"a {type(state).__name__} where a state dict was expected")
    return kind, state


def _hello(_t: ControlTarget, a: dict[str, Any], info: Mapping[str, Any]) -> Body:
    return "hello", {"protocol": PROTOCOL_VERSION, "server": "stylecast",
                     "version": __version__, "messages": list(MESSAGES), **info}


def _list_styles(t: ControlTarget, _a: dict[str, Any], _i: Mapping[str, Any]) -> Body:
    return "styles", {"styles": list(t.list_styles())}


def _snapshot(t: ControlTarget, _a: dict[str, Any], _i: Mapping[str, Any]) -> Body:
    png = t.snapshot()
    if not isinstance(png, bytes | bytearray):
        raise _NotJSON(f"a {type(png).__name__} where PNG bytes were expected")
    return "snapshot", {"mime": "image/png", "encoding": "base64", "bytes": len(png),
                        "data": base64.b64encode(png).decode("ascii")}


def _stats(t: ControlTarget, _a: dict[str, Any], _i: Mapping[str, Any]) -> Body:
    return _state("stats", t.stats())


_Handler = Callable[[ControlTarget, dict[str, Any], Mapping[str, Any]], Body]
_DISPATCH: Mapping[str, _Handler] = {
    "hello": _hello,
    "list_styles": _list_styles,
    "set_style": lambda t, a, _: _state("set_style", t.set_style(a["style"],
                                                                 a["transition_ms"])),
    "blend": lambda t, a, _: _state("blend", t.blend(a["styles"], a["transition_ms"])),
    "set_strength": lambda t, a, _: _state("set_strength", t.set_strength(a["value"])),
    "set_preserve_colour": lambda t, a, _: _state("set_preserve_colour",
                                                  t.set_preserve_colour(a["value"])),
    "set_stroke_scale": lambda t, a, _: _state("set_stroke_scale",
                                               t.set_stroke_scale(a["value"])),
    "set_temporal": lambda t, a, _: _state("set_temporal", t.set_temporal(a["enabled"])),
    "pause": lambda t, _a, _i: _state("pause", t.pause()),
    "resume": lambda t, _a, _i: _state("resume", t.resume()),
    "snapshot": _snapshot,
    "get_stats": _stats,
}
