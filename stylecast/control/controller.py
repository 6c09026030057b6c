"""The live pipeline as a ControlTarget: what the websocket server, web page and OBS drive."""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
from PIL import Image

from stylecast.control.thumbnails import Thumbnails
from stylecast.engine.stylizer import Stylizer
from stylecast.errors import ConfigError, StylecastError, StyleNotFound
from stylecast.model.pack import StylePack
from stylecast.pipeline.threads import Pipeline

THUMB_SIZE = (192, 108)  # 16:9, multiples of 4


def reference_frame(width: int, height: int) -> np.ndarray:
    """A built-in still with edges, gradients and a face-like disc, for style thumbnails
    when no camera frame has arrived yet. (H, W, 3) uint8 RGB."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    sky = np.stack([90 + 80 * yy / height, 140 + 60 * yy / height,
                    220 - 40 * yy / height], -1)
    ground = np.stack([60 + 40 * np.sin(xx / 9), 140 + 30 * np.cos(yy / 7),
                       70 + 0 * xx], -1)
    img = np.where((yy > height * 0.62)[..., None], ground, sky)
    disc = (xx - width * 0.35) ** 2 + (yy - height * 0.45) ** 2 < (height * 0.22) ** 2
    img[disc] = (235, 190, 150)
    img[(abs(xx - width * 0.72) < width * 0.06) & (yy > height * 0.3)] = (120, 70, 40)
    return np.clip(img, 0, 255).astype(np.uint8)


def _png(rgb: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise StylecastError("could not encode a PNG snapshot")
    return data.tobytes()


class LiveController:
    """Implements stylecast.control.api.ControlTarget on a running Pipeline."""

    def __init__(self, pipeline: Pipeline, stylizer: Stylizer, pack: StylePack) -> None:
        self.pipeline = pipeline
        self.stylizer = stylizer
        self.pack = pack
        self._lock = threading.Lock()
        self._thumbs = Thumbnails(stylizer.mixer.names, self._render_thumbnail)
        self._preview: tuple[int, int, bytes] | None = None  # (frame index, width, jpeg)
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        pipeline.add_listener(self._forward)

    # -- events --------------------------------------------------------------------------
    def add_listener(self, callback: Callable[[dict[str, Any]], None]) -> None:
        self._listeners.append(callback)

    def _forward(self, event: dict[str, Any]) -> None:
        for callback in list(self._listeners):
            callback(event)

    def _style_changed(self) -> dict[str, Any]:
        state = self.stats()
        self._forward({"type": "style_changed", "style": state["style"],
                       "styles": state["styles"]})
        return state

    # -- styles ----------------------------------------------------------------------------
    def list_styles(self) -> list[dict[str, Any]]:
        return [s.as_dict() for s in self.pack.styles]

    def _check(self, name: str) -> None:
        if name not in self.stylizer.mixer.names:
            raise StyleNotFound(f"unknown style {name!r}; the loaded pack "
                                f"{self.pack.name!r} has {', '.join(self.stylizer.mixer.names)}")

    def set_style(self, name: str, transition_ms: float) -> dict[str, Any]:
        self._check(name)
        self.stylizer.mixer.set({name: 1.0}, transition_ms)
        return self._style_changed()

    def next_style(self, transition_ms: float = 0.0) -> dict[str, Any]:
        """Switch to the style after the dominant one, wrapping around (OBS hotkeys).

        Returns:
            The state summary.
        """
        return self._step_style(1, transition_ms)

    def previous_style(self, transition_ms: float = 0.0) -> dict[str, Any]:
        """Switch to the style before the dominant one, wrapping around (OBS hotkeys).

        Returns:
            The state summary.
        """
        return self._step_style(-1, transition_ms)

    def _step_style(self, step: int, transition_ms: float) -> dict[str, Any]:
        names = self.stylizer.mixer.names
        index = names.index(self.stylizer.mixer.dominant())
        return self.set_style(names[(index + step) % len(names)], transition_ms)

    def blend(self, weights: dict[str, float], transition_ms: float) -> dict[str, Any]:
        for name in weights:
            self._check(name)
        self.stylizer.mixer.set(weights, transition_ms)
        return self._style_changed()

    def set_strength(self, value: float) -> dict[str, Any]:
        self.stylizer.strength = value
        return self.stats()

    def set_preserve_colour(self, value: float) -> dict[str, Any]:
        self.stylizer.preserve_colour = value
        return self.stats()

    def set_stroke_scale(self, value: float) -> dict[str, Any]:
        self.stylizer.stroke_scale = value
        return self.stats()

    def set_temporal(self, enabled: bool) -> dict[str, Any]:
        """Turn the temporal cache on or off; ``temporal`` in the result is what is in use.

        Raises:
            ConfigError: turning it on while the runtime cannot run it.
        """
        self.stylizer.temporal = enabled
        if enabled and not self.stylizer.temporal:
            raise ConfigError(f"the {self.stylizer.runtime.name} runtime cannot run the "
                              "temporal cache; restart with --runtime openvino or torch")
        return self.stats()

    def pause(self) -> dict[str, Any]:
        self.pipeline.pause()
        return self.stats()

    def resume(self) -> dict[str, Any]:
        self.pipeline.resume()
        return self.stats()

    # -- pictures --------------------------------------------------------------------------
    def snapshot(self) -> bytes:
        frame = self.pipeline.latest()
        if frame is None:
            raise StylecastError("no frame has been produced yet; try again in a moment")
        return _png(frame.data)

    def preview_jpeg(self, max_width: int) -> bytes | None:
        frame = self.pipeline.latest()
        if frame is None:
            return None
        with self._lock:
            if self._preview and self._preview[:2] == (frame.index, max_width):
                return self._preview[2]
        h, w = frame.data.shape[:2]
        scale = min(1.0, max_width / w)
        small = cv2.resize(frame.data, (max(1, int(w * scale)), max(1, int(h * scale))),
                           interpolation=cv2.INTER_AREA)
        buffer = io.BytesIO()
        Image.fromarray(small).save(buffer, format="JPEG", quality=75)
        data = buffer.getvalue()
        with self._lock:
            self._preview = (frame.index, max_width, data)
        return data

    def thumbnail(self, style: str) -> bytes:
        """``style`` on the reference frame: rendered once, by one worker between live
        frames, at a size the runtime has ready (``stylecast.control.thumbnails``)."""
        self._check(style)
        return self._thumbs.get(style)

    def _render_thumbnail(self, vector: np.ndarray) -> bytes:
        return _png(self.stylizer.render_style(reference_frame(*THUMB_SIZE), vector))

    def close(self) -> None:
        """Stop the thumbnail worker; idempotent."""
        self._thumbs.close()

    # -- numbers ---------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        snap = self.pipeline.stats.snapshot()
        nan = math.nan
        return {
            "fps": snap["fps"],
            "latency_p50_ms": snap["latency_p50_ms"] if snap["latency_p50_ms"] is not None else nan,
            "latency_p95_ms": snap["latency_p95_ms"] if snap["latency_p95_ms"] is not None else nan,
            "drops": snap["drops"], "frames": snap["frames"],
            "style": self.stylizer.mixer.dominant(), "styles": self.stylizer.mixer.weights(),
            "strength": self.stylizer.strength, "preserve_colour": self.stylizer.preserve_colour,
            "stroke_scale": self.stylizer.stroke_scale,
            "temporal": self.stylizer.temporal, "paused": self.pipeline.paused,
            # frames, static_frames and reused_frames (network skipped), resets (scene cuts),
            # overhead_ms
            "temporal_stats": self.stylizer.temporal_stats() or {},
            "stage_ms": snap["stage_ms"], "outputs": self.pipeline.active_sinks,
        }
