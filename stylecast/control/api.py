"""The contract between the control plane and the live pipeline.

The websocket server, the web page and the OBS bridge drive the pipeline only through
:class:`ControlTarget`; the pipeline never imports anything from ``stylecast.control``.
Every method may be called from the control server's worker threads (never from the
pipeline's own threads), so implementations guard their state with a lock and must not
block for long: a control call that waits on a frame stalls only that client, but a call
that waits forever holds a server worker until shutdown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

#: The keys every entry of :meth:`ControlTarget.list_styles` carries.
STYLE_KEYS = ("name", "title", "artist", "year", "pack")

#: The keys of :meth:`ControlTarget.stats`; pushed to clients once a second.
STATS_KEYS = ("fps", "latency_p50_ms", "latency_p95_ms", "drops", "frames", "style",
              "styles", "strength", "preserve_colour", "stroke_scale", "temporal", "paused")


@runtime_checkable
class ControlTarget(Protocol):
    """What a live pipeline offers to remote controls.

    Lifecycle: the server calls :meth:`add_listener` once, when it starts, and then any of
    the other methods, from its worker threads, until it stops. There is no
    ``remove_listener``: a stopped server's callback stays registered and becomes a cheap
    no-op, so the target may call it after the server is gone.

    Methods that change state return a *state summary*: a JSON-compatible dict (str keys;
    str, int, float, bool, None, lists and dicts of those) describing the pipeline after
    the change, normally the same keys as :meth:`stats`. Non-finite floats are sent as
    ``null``. The keys ``type``, ``ok``, ``id`` and ``error`` are reserved for the
    protocol and are overwritten if present.

    Errors are reported by raising :class:`~stylecast.errors.StylecastError` subclasses
    whose message is one sentence that says what and what to do; the message reaches the
    user verbatim. Arguments arrive already validated by the protocol layer (types, ranges,
    finite numbers), so implementations check only what needs their own state, such as
    whether a style exists.
    """

    def list_styles(self) -> list[dict[str, Any]]:
        """Every installed style, in display order.

        Returns:
            One dict per style with the keys ``name``, ``title``, ``artist``, ``year``
            (int or str) and ``pack``; ``name`` is what :meth:`set_style` takes.
        """
        ...

    def set_style(self, name: str, transition_ms: float) -> dict[str, Any]:
        """Switch to one style, crossfading over ``transition_ms`` (0 = cut).

        Args:
            name: a style name from :meth:`list_styles`.
            transition_ms: crossfade duration in milliseconds, 0 to 60000.

        Returns:
            The state summary.

        Raises:
            StyleNotFound: no installed style has this name.
        """
        ...

    def blend(self, weights: dict[str, float], transition_ms: float) -> dict[str, Any]:
        """Mix several styles, crossfading to the mix over ``transition_ms``.

        Args:
            weights: 1 to 16 style names, each weight in [0, 1] and at least one above 0;
                they are relative: the target normalizes them to sum to 1.
            transition_ms: crossfade duration in milliseconds, 0 to 60000.

        Returns:
            The state summary.

        Raises:
            StyleNotFound: a name is not installed.
            ConfigError: the styles cannot be mixed (for example they come from packs whose
                networks differ).
        """
        ...

    def set_strength(self, value: float) -> dict[str, Any]:
        """Set stylization strength: 0 gives the camera image, 1 the full style."""
        ...

    def set_preserve_colour(self, value: float) -> dict[str, Any]:
        """Set colour preservation: 0 takes the painting's palette, 1 keeps the camera's."""
        ...

    def set_stroke_scale(self, value: float) -> dict[str, Any]:
        """Set the brush size: strokes relative to the painting's (1 = its proportions).

        Raises:
            ConfigError: the value is outside 0.25..4.
        """
        ...

    def set_temporal(self, enabled: bool) -> dict[str, Any]:
        """Turn temporal smoothing (the flicker-reducing feature cache) on or off."""
        ...

    def pause(self) -> dict[str, Any]:
        """Freeze the output on the last frame; idempotent."""
        ...

    def resume(self) -> dict[str, Any]:
        """Resume live output after :meth:`pause`; idempotent."""
        ...

    def snapshot(self) -> bytes:
        """The latest output frame, full size, as PNG bytes.

        Raises:
            StylecastError: no frame has been produced yet.
        """
        ...

    def preview_jpeg(self, max_width: int) -> bytes | None:
        """The latest output frame as a small JPEG, at most ``max_width`` pixels wide.

        Called several times a second per open control page, so implementations should
        cache the encoding per frame. Returns None when there is no frame yet.
        """
        ...

    def thumbnail(self, style: str) -> bytes:
        """A PNG thumbnail of ``style`` applied to a fixed reference frame.

        Implementations should cache: every control page asks for every style.

        Raises:
            StyleNotFound: no installed style has this name.
        """
        ...

    def stats(self) -> dict[str, Any]:
        """Live numbers for the dashboards.

        Returns:
            A dict with at least ``fps`` (float), ``latency_p50_ms`` and
            ``latency_p95_ms`` (float, or NaN/None before the first frame), ``drops`` and
            ``frames`` (int), ``style`` (the dominant style's name or None), ``styles``
            (name -> weight), ``strength`` and ``preserve_colour`` (float in [0, 1]),
            ``temporal`` and ``paused`` (bool).
        """
        ...

    def add_listener(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """Register ``callback`` for events the pipeline pushes to every client.

        Events are JSON-compatible dicts with a ``type``, such as
        ``{"type": "style_changed", "style": "scream", "styles": {"scream": 1.0}}`` or
        ``{"type": "error", "error": "the camera stopped delivering frames"}``. The
        callback is called from pipeline threads; it never blocks and never raises.
        """
        ...
