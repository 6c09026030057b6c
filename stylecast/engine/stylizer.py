"""Frame in, stylized frame out: processing size, runtime call, controls, upsampling.

The network runs at the *processing size* (multiples of 4, at most the output size); when
that is smaller than the output, the result is upsampled guided by the full-resolution
camera frame, so edges stay crisp at a fraction of the network cost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import cv2
import numpy as np

from stylecast.engine import size as size_policy
from stylecast.engine.mixer import StyleMixer
from stylecast.engine.size import check_stroke_scale
from stylecast.engine.upsample import MODES as UPSAMPLE_MODES
from stylecast.engine.upsample import Upsampler
from stylecast.errors import ConfigError
from stylecast.pipeline.frames import Frame
from stylecast.runtime.base import Runtime
from stylecast.temporal.cache import TemporalCache
from stylecast.temporal.config import TemporalConfig

log = logging.getLogger(__name__)

class Stylizer:
    """Applies the style network to frames; controls may change from any thread.

    Args:
        runtime: an opened Runtime.
        mixer: the style vector source (crossfades).
        process_size: network input (width, height), which overrides the stroke scale;
            None = the size ``reference_width`` and the stroke scale give (the frame's own
            size for packs without a reference width), rounded down to a multiple of 4.
        reference_width: the frame width the network was trained to paint at (the pack's
            ``reference_width``); None runs every frame at its own size.
        stroke_scale: stroke size relative to the painting's (1 = the painting's own
            proportions); changeable live through ``stroke_scale``.
        live_pixels: a cap on the network's input in pixels (``stylecast run`` on a CPU).
        upsample: "guided" (edge-aware) or "bilinear", used when the processing size is
            below the frame size.
        temporal: use the temporal feature cache (steady video; see stylecast.temporal)
            when the runtime supports it.
        temporal_reuse: with the cache, let up to this many frames in a row skip the
            network where the motion is trusted (``TemporalConfig.reuse``; 0 = never).
        temporal_config: the cache's whole tuning, instead of ``temporal_reuse`` (the bench
            passes the one it measures).
    """

    def __init__(
        self, runtime: Runtime, mixer: StyleMixer, *,
        process_size: tuple[int, int] | None = None, upsample: str = "guided",
        reference_width: int | None = None, stroke_scale: float = 1.0,
        live_pixels: int | None = None, temporal: bool = False,
        temporal_reuse: int = TemporalConfig.reuse,
        temporal_config: TemporalConfig | None = None,
    ) -> None:
        if upsample not in UPSAMPLE_MODES:
            raise ConfigError(f"--upsample must be one of {UPSAMPLE_MODES}")
        self._temporal_config = temporal_config or TemporalConfig(reuse=temporal_reuse)
        self.runtime = runtime
        self.mixer = mixer
        self.requested_process_size = process_size
        self.reference_width = reference_width
        self.live_pixels = live_pixels
        self.upsample_mode = upsample
        # Kept between frames: it owns its scratch buffers (10 ms vs 32 ms a frame at 720p).
        self._upsampler = Upsampler(mode=upsample)
        self._lock = threading.Lock()
        self._strength = 1.0
        self._preserve = 0.0
        self._stroke_scale = 1.0
        self.stroke_scale = stroke_scale
        # One engine, several callers (the stylize thread, thumbnails for the control
        # page): inference requests and OpenVINO infer requests are not re-entrant.
        self._infer_lock = threading.Lock()
        self.stage_callback: Callable[[str, float], None] | None = None
        self._temporal = False
        self._cache: TemporalCache | None = None
        # The last (network result, upsampled frame) pair, touched by the stylize thread only.
        self._last_upsampled: tuple[np.ndarray | None, np.ndarray | None] = (None, None)
        self.temporal = temporal

    @property
    def temporal(self) -> bool:
        """Whether the temporal cache is in use (False when the runtime cannot run it)."""
        with self._lock:
            return self._temporal

    @temporal.setter
    def temporal(self, enabled: bool) -> None:
        if enabled and not getattr(self.runtime, "supports_temporal", False):
            # Not an error: the cache is on by default and some runtimes lack it.
            log.warning("the %s runtime cannot run the temporal cache; frames are stylized "
                        "independently", self.runtime.name)
            enabled = False
        with self._lock:
            # A fresh cache on every switch-on: history from before a pause is stale.
            self._temporal = bool(enabled)
            self._cache_reset = True

    def temporal_stats(self) -> dict[str, float] | None:
        """The cache's counters (frames, static_frames, resets, overhead), or None if unused."""
        cache = self._cache
        return None if cache is None else cache.stats.as_dict()

    def replace_runtime(self, runtime: Runtime) -> None:
        """Switch to another opened runtime (the pipeline's fallback after a failure); the
        temporal cache starts afresh on it, or stays off if that runtime cannot run it."""
        with self._infer_lock:
            self.runtime = runtime
            self._cache = None  # it holds the old runtime
        self.temporal = self.temporal

    def warmup(self, width: int, height: int) -> None:
        """Compile for this processing size before the first live frame, the temporal graph
        too when the cache is on (its first use exports it: seconds, once per network)."""
        self.runtime.warmup(width, height)
        if not self.temporal:
            return
        from stylecast.temporal.state import TemporalInputs

        network = self.runtime.network
        state = TemporalInputs.empty(network.spec.channels, network.stats_channels,
                                     height // 4, width // 4)
        style = np.zeros(network.spec.num_styles, dtype=np.float32)
        style[0] = 1.0
        with self._infer_lock:
            self.runtime.infer_temporal(np.zeros((height, width, 3), np.uint8), style, 1.0,
                                        0.0, state)

    def _run_network(self, small: np.ndarray, strength: float, preserve: float) -> np.ndarray:
        with self._lock:
            temporal, reset = self._temporal, self._cache_reset
            self._cache_reset = False
        vector = self.mixer.vector()
        with self._infer_lock:
            if not temporal:
                return self.runtime.infer(small, vector, strength, preserve)
            if self._cache is None:
                self._cache = TemporalCache(self.runtime, self._temporal_config)
            elif reset:
                self._cache.reset()
            return self._cache.stylize(small, vector, strength, preserve)

    @property
    def strength(self) -> float:
        with self._lock:
            return self._strength

    @strength.setter
    def strength(self, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"strength must be within 0..1, got {value}")
        with self._lock:
            self._strength = float(value)

    @property
    def preserve_colour(self) -> float:
        with self._lock:
            return self._preserve

    @preserve_colour.setter
    def preserve_colour(self, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"colour preservation must be within 0..1, got {value}")
        with self._lock:
            self._preserve = float(value)

    @property
    def stroke_scale(self) -> float:
        """Stroke size relative to the painting's (1 = the painting's own proportions)."""
        with self._lock:
            return self._stroke_scale

    @stroke_scale.setter
    def stroke_scale(self, value: float) -> None:
        value = check_stroke_scale(value)
        with self._lock:
            self._stroke_scale = value

    def network_size(self, output: tuple[int, int]) -> tuple[int, int]:
        """The (width, height) the network runs at for frames of size ``output``: an
        explicit --process-size, else the stroke scale's size, capped by ``live_pixels``
        (see ``stylecast.engine.size``)."""
        return size_policy.network_size(
            output, requested=self.requested_process_size,
            reference_width=self.reference_width, stroke_scale=self.stroke_scale,
            live_pixels=self.live_pixels)

    def go_live(self, output: tuple[int, int]) -> tuple[int, int]:
        """Set up for a live run at ``output`` size and return the network's size: on a CPU
        runtime without --process-size the network's input is capped at a size the CPU keeps
        up with (``size.live_pixels``) and upsampled."""
        self.live_pixels = size_policy.live_pixels(self.runtime.device_kind,
                                                   self.requested_process_size)
        size = self.network_size(output)
        if self.live_pixels is not None and size != tuple(output):
            log.info("CPU runtime: the network runs at %dx%d and is upsampled to %dx%d to "
                     "keep up live; --process-size %dx%d runs it at full size", *size,
                     *output, *output)
        return size

    def stylize_array(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> stylized (H, W, 3) uint8 RGB of the same size."""
        height, width = rgb.shape[:2]
        pw, ph = self.network_size((width, height))
        small = rgb if (pw, ph) == (width, height) else cv2.resize(
            rgb, (pw, ph), interpolation=cv2.INTER_AREA)
        with self._lock:
            strength, preserve = self._strength, self._preserve
        t0 = time.perf_counter()
        styled = self._run_network(np.ascontiguousarray(small), strength, preserve)
        self._report("model", time.perf_counter() - t0)
        if (pw, ph) == (width, height):
            return styled
        last_small, last_out = self._last_upsampled
        if styled is last_small and last_out is not None and last_out.shape == rgb.shape:
            # The cache found the scene still and handed back its last result itself: the
            # last upsampled frame is that picture too. Guided upsampling it again would
            # cost ~10 ms at 720p and put this frame's sensor noise back into the detail.
            return last_out
        t1 = time.perf_counter()
        out = self._upsample(styled, rgb)
        self._report("upsample", time.perf_counter() - t1)
        self._last_upsampled = (styled, out)
        return out

    def render_style(self, rgb: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Stylize a small still (H, W multiples of 4) with an explicit style vector, full
        strength; for thumbnails and galleries, outside the live mix."""
        with self._infer_lock:
            return self.runtime.infer(np.ascontiguousarray(rgb), vector, 1.0, 0.0)

    def _upsample(self, styled: np.ndarray, guide: np.ndarray) -> np.ndarray:
        return self._upsampler(styled, guide)

    def _report(self, stage: str, seconds: float) -> None:
        if self.stage_callback is not None:
            self.stage_callback(stage, seconds)

    def process(self, frame: Frame) -> Frame:
        """Stylize one frame, keeping its index and timing."""
        return frame.with_data(self.stylize_array(frame.data))
