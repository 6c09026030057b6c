"""Strict schemas for control messages: every field's type, range and size.

Each message type declares its fields once, in :data:`MESSAGES`; :func:`validate` checks a
decoded message against it and raises :class:`Invalid` with one sentence naming the field,
what it got and what it expected. Unknown fields are rejected rather than ignored, so a
typo such as ``"strenght"`` fails loudly instead of silently doing nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The bounds the stylizer enforces; engine.size is pure arithmetic (no numpy or OpenCV).
from stylecast.engine.size import STROKE_SCALE_RANGE

MAX_NAME_CHARS = 64
MAX_ID_CHARS = 64
MAX_BLEND_STYLES = 16
MAX_TRANSITION_MS = 60_000.0
# Ids travel through JavaScript, whose numbers are exact only up to 2**53.
MAX_ID_INT = 2**53 - 1


Check = Callable[[Any, str], Any]


class Invalid(ValueError):
    """A message does not match its schema; the text is the user-facing sentence."""


def _describe(value: Any) -> str:
    """A short, safe rendering of a rejected value for an error message."""
    if isinstance(value, bool) or value is None:
        return "null" if value is None else str(value).lower()
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        shown = value if len(value) <= 32 else value[:29] + "..."
        return repr(shown)
    if isinstance(value, dict):
        return "an object"
    return "an array" if isinstance(value, list) else type(value).__name__


def is_style_name(value: object) -> bool:
    """True for what style packs accept as a name: letters, digits, ``-`` and ``_``."""
    return (isinstance(value, str) and 0 < len(value) <= MAX_NAME_CHARS
            and value.replace("-", "").replace("_", "").isalnum())


def number(lo: float, hi: float) -> Check:
    """A finite JSON number (not a boolean) in [lo, hi], returned as float."""
    def check(value: Any, where: str) -> float:
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not math.isfinite(value) or not lo <= value <= hi):
            raise Invalid(f"{where} must be a number from {lo:g} to {hi:g}, "
                          f"got {_describe(value)}")
        return float(value)
    return check


def boolean(value: Any, where: str) -> bool:
    """A JSON true or false; 0/1 and strings are refused, they hide client bugs."""
    if not isinstance(value, bool):
        raise Invalid(f"{where} must be true or false, got {_describe(value)}")
    return value


def style_name(value: Any, where: str) -> str:
    """A style name as packs define it."""
    if not is_style_name(value):
        raise Invalid(f"{where} must be a style name (1 to {MAX_NAME_CHARS} letters, "
                      f"digits, - or _), got {_describe(value)}")
    return str(value)


def text(max_chars: int) -> Check:
    """Any string of at most ``max_chars`` characters."""
    def check(value: Any, where: str) -> str:
        if not isinstance(value, str) or len(value) > max_chars:
            raise Invalid(f"{where} must be a string of at most {max_chars} characters, "
                          f"got {_describe(value)}")
        return value
    return check


def weights(value: Any, where: str) -> dict[str, float]:
    """Style name -> weight in [0, 1]; 1 to 16 entries and at least one weight above 0."""
    if not isinstance(value, dict) or not 1 <= len(value) <= MAX_BLEND_STYLES:
        raise Invalid(f"{where} must be an object of 1 to {MAX_BLEND_STYLES} "
                      f"style name -> weight entries, got {_describe(value)}"
                      + (f" with {len(value)} entries" if isinstance(value, dict) else ""))
    weight = number(0.0, 1.0)
    result = {style_name(name, f"{where} key"): weight(w, f"{where}[{name!r}]")
              for name, w in value.items()}
    if not any(w > 0.0 for w in result.values()):
        raise Invalid(f"{where} needs at least one weight above 0")
    return result


def request_id(value: Any, where: str) -> str | int:
    """A client's request id: a short string or a JavaScript-safe integer."""
    if isinstance(value, str) and len(value) <= MAX_ID_CHARS:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_ID_INT:
        return value
    raise Invalid(f"{where} must be a string of at most {MAX_ID_CHARS} characters or an "
                  f"integer within +/-(2**53 - 1), got {_describe(value)}")


@dataclass(frozen=True)
class MessageSpec:
    """The fields of one message type; ``optional`` maps a field to (check, default)."""

    required: Mapping[str, Check] = field(default_factory=dict)
    optional: Mapping[str, tuple[Check, Any]] = field(default_factory=dict)

    def fields(self) -> list[str]:
        return sorted([*self.required, *self.optional])


_TRANSITION = (number(0.0, MAX_TRANSITION_MS), 0.0)
_UNIT = number(0.0, 1.0)

#: Every request type and its fields (``type`` and ``id`` are handled by the caller).
MESSAGES: Mapping[str, MessageSpec] = {
    "hello": MessageSpec(optional={"client": (text(MAX_NAME_CHARS), None),
                                   "protocol": (text(16), None)}),
    "list_styles": MessageSpec(),
    "set_style": MessageSpec(required={"style": style_name},
                             optional={"transition_ms": _TRANSITION}),
    "blend": MessageSpec(required={"styles": weights}, optional={"transition_ms": _TRANSITION}),
    "set_strength": MessageSpec(required={"value": _UNIT}),
    "set_preserve_colour": MessageSpec(required={"value": _UNIT}),
    "set_stroke_scale": MessageSpec(required={"value": number(*STROKE_SCALE_RANGE)}),
    "set_temporal": MessageSpec(required={"enabled": boolean}),
    "pause": MessageSpec(),
    "resume": MessageSpec(),
    "snapshot": MessageSpec(),
    "get_stats": MessageSpec(),
}


def validate(kind: str, message: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``message`` (a decoded request of type ``kind``) and return its arguments.

    Args:
        kind: a key of :data:`MESSAGES`.
        message: the whole decoded request, including ``type`` and an optional ``id``.

    Returns:
        Field name -> checked value, with defaults filled in for absent optional fields.

    Raises:
        Invalid: a field is missing, unknown, of the wrong type or out of range.
    """
    spec = MESSAGES[kind]
    unknown = sorted(set(message) - {"type", "id", *spec.required, *spec.optional})
    if unknown:
        allowed = ", ".join(spec.fields()) or "none"
        raise Invalid(f"{kind}: unknown field {_describe(unknown[0])}; besides type and id "
                      f"its fields are: {allowed}")
    args: dict[str, Any] = {}
    for name, check in spec.required.items():
        if name not in message:
            raise Invalid(f"{kind}: missing field {name!r}")
        args[name] = check(message[name], f"{kind}: {name!r}")
    for name, (check, default) in spec.optional.items():
        args[name] = check(message[name], f"{kind}: {name!r}") if name in message else default
    return args
