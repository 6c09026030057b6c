"""The temporal feature cache: steady video from a per-frame network at almost no cost.

Per frame, on the CPU and at low resolution (the network's feature resolution times
``flow_scale``, i.e. half the processing size by default):

1. **Static fast path**: if the (slightly blurred) grey frame barely differs from the last
   stylized one, and style and controls are unchanged, the last output is returned and the
   network does not run at all.
2. **Motion**: DIS optical flow (ULTRAFAST, searched down to half the flow image's
   resolution) backward between the two grey frames (~0.6 ms at 240x136); optionally
   forward too, for a consistency check. Motion within a tenth of a pixel of the frame's
   median is set to it (``settle``), so a still background is not resampled into blur.
3. **Confidence**: the warped previous grey frame must match the current one (photometric
   check; fails at most occlusions), optionally the two flows must agree, and the source
   must lie inside the frame; the mask is eroded so object edges take fresh features (no
   trails). Scaled by ``blend``, it is the weight of the warped history.
4. **Scene cut**: when most of the frame fails the check, the state is dropped.
5. **Style switch**: the history weight is eased down in proportion to how much the style
   vector moved since the last frame, so a crossfade stays a crossfade and an instant switch
   is instant.

6. **Warp**: the last decoder-input features are warped to this frame with ``cv2.remap``
   (``warp_cpu``), and the network runs ``TemporalFrameGraph`` through
   ``Runtime.infer_temporal``, which blends them with this frame's features by the
   confidence before decoding.
7. **Output blend**: the last output, warped at full resolution, is blended into the new one
   (in uint8) by the confidence scaled by ``output_blend``, or by ``still_blend`` where the
   input has held still since the pixel's anchor (``blend.StillMask``).

Speed mode (``reuse``): up to ``reuse`` frames in a row skip the whole-frame run and carry
the last output and features by the flow; where the history is not trusted the network
runs on crops of the frame with the last whole frame's norm statistics (``region``,
``stylecast.temporal.region``), or the frame runs whole when the crops would not pay.

This module holds the state between frames and the order of the steps; each job has its
module: motion (2, ``motion``), confidence and blending (3 and 7, ``blend``), reuse and
crops (speed mode, ``reuse``), the tuning (``config``) and the graph's state (``state``).
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from stylecast.runtime.base import Runtime
from stylecast.temporal import reuse
from stylecast.temporal.blend import Confidence, StillMask, blend_output
from stylecast.temporal.config import TemporalConfig, TemporalStats
from stylecast.temporal.motion import FlowEstimator, Motion, blurred
from stylecast.temporal.region import Crop
from stylecast.temporal.state import TemporalInputs, TemporalOutputs
from stylecast.temporal.warp_cpu import Warper


class TemporalCache:
    """Holds the state between frames and drives ``runtime.infer_temporal``.

    Use from one thread (the stylize thread). ``reset()`` drops the history.

    Args:
        runtime: an opened runtime with ``supports_temporal``.
        config: tuning.
    """

    def __init__(self, runtime: Runtime, config: TemporalConfig | None = None) -> None:
        self.runtime = runtime
        self.config = config or TemporalConfig()
        self.stats = TemporalStats()
        self._channels = runtime.network.spec.channels
        self._stats_channels = runtime.network.stats_channels
        self._flow = FlowEstimator(self.config)
        self._confidence = Confidence(self.config)
        self._warper = Warper()
        self._prepared: tuple[int, int] | None = None  # feature grid crops were prepared for
        self.reset()

    def reset(self) -> None:
        """Forget the history; the next frame is stylized on its own."""
        self._gray: np.ndarray | None = None
        self._smooth: np.ndarray | None = None  # _gray blurred
        self._state: TemporalOutputs | None = None
        self._output: np.ndarray | None = None
        self._key: tuple[np.ndarray, float, float] | None = None
        self._reused = 0  # frames reused since the network last ran
        self._stills = StillMask(self.config)

    def stylize(
        self, frame: np.ndarray, style: np.ndarray, strength: float, preserve: float
    ) -> np.ndarray:
        """Stylize one frame with history.

        Args:
            frame: (H, W, 3) uint8 RGB, H and W multiples of 4 (the processing size).
            style: (S,) float32 style vector.
            strength: in [0, 1].
            preserve: in [0, 1].

        Returns:
            (H, W, 3) uint8 RGB. On the static path this is the previous result itself:
            treat it as read-only.
        """
        t0 = time.perf_counter()
        cfg = self.config
        height, width = frame.shape[0] // 4, frame.shape[1] // 4
        size = (width * cfg.flow_scale, height * cfg.flow_scale)
        gray = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), size,
                          interpolation=cv2.INTER_AREA)
        # Blurred so that sensor noise averages out; the static check, the still mask and
        # the photometric check compare it (one blur for the three).
        smooth = blurred(gray)
        self.stats.frames += 1
        if self._gray is not None and self._gray.shape != gray.shape:
            self.reset()
        if cfg.reuse and cfg.region and self._prepared != (height, width):
            # Every crop size of this grid at once, in the warm-up, not as a show meets them.
            self._prepared = (height, width)
            reuse.prepare_crops(self.runtime, height, width, cfg.region_max_area)
        if self._static(smooth, style, strength, preserve) and self._output is not None:
            self.stats.static_frames += 1
            self.stats.overhead_ms += (time.perf_counter() - t0) * 1000.0
            return self._output
        inputs, motion = self._inputs(gray, smooth, (style, strength, preserve), height, width)
        if motion is not None and reuse.may_reuse(cfg, self._reused, motion):
            crops = reuse.crops_to_refresh(self.runtime, cfg, inputs)
            if crops is not None:
                return self._reuse(frame, gray, smooth, inputs, motion, crops, t0)
        t1 = time.perf_counter()
        out, state = self.runtime.infer_temporal(frame, style, strength, preserve, inputs)
        t2 = time.perf_counter()
        if motion is not None:
            out = self._blend_output(out, motion)
        self._reused = 0
        self._gray, self._smooth, self._state, self._output = gray, smooth, state, out
        self._key = (style.copy(), strength, preserve)
        self.stats.overhead_ms += (t1 - t0) * 1000.0 + (time.perf_counter() - t2) * 1000.0
        return out

    def _reuse(self, frame: np.ndarray, gray: np.ndarray, smooth: np.ndarray,
               inputs: TemporalInputs, motion: Motion, crops: list[Crop],
               t0: float) -> np.ndarray:
        """The last output and features carried to this frame by the flow, no whole-frame
        network run; where ``crops`` lie, the network runs on them with the last whole
        frame's norm statistics and its result replaces the carried picture and features
        by how little the history there is trusted."""
        output, state = self._output, self._state
        if output is None or state is None:  # motion is only measured against history
            raise RuntimeError("temporal cache: a frame was reused without history")
        out = self._warper.warp(output, motion.flow)
        network_s = 0.0
        for crop in crops:
            network_s += self._refresh(frame, inputs, motion, crop, out, state.stats)
        self._state = TemporalOutputs(features=inputs.prev_feats, stats=state.stats)
        self._gray, self._smooth, self._output = gray, smooth, out
        self._reused += 1
        self.stats.reused_frames += 1
        self.stats.region_frames += bool(crops)
        self.stats.overhead_ms += (time.perf_counter() - t0 - network_s) * 1000.0
        return out

    def _refresh(self, frame: np.ndarray, inputs: TemporalInputs, motion: Motion,
                 crop: Crop, out: np.ndarray, stats: np.ndarray) -> float:
        """``reuse.refresh_crop`` with this cache's runtime, tuning and style."""
        if self._key is None:  # reuse needs the style it was made with
            raise RuntimeError("temporal cache: a frame was reused without a style")
        return reuse.refresh_crop(self.runtime, self.config, self._key, frame, inputs,
                                  motion, crop, out, stats)

    def _blend_output(self, out: np.ndarray, motion: Motion) -> np.ndarray:
        """Blend the last output, warped to this frame, into ``out`` (full resolution)."""
        if self._output is None or self.config.output_blend <= 0.0:
            return out
        return blend_output(out, self._warper.warp(self._output, motion.flow), motion,
                            self.config)

    def _static(self, smooth: np.ndarray, style: np.ndarray, strength: float,
                preserve: float) -> bool:
        """Whether the blurred grey ``smooth`` is within ``static_threshold`` of the last
        stylized frame's everywhere, with style and controls unchanged."""
        if self._smooth is None or self._key is None:
            return False
        key_style, key_strength, key_preserve = self._key
        if key_strength != strength or key_preserve != preserve or not np.array_equal(
                key_style, style):
            return False
        # Blurred frames: sensor noise averages out, real change does not.
        return float(cv2.absdiff(smooth, self._smooth).max()) < self.config.static_threshold

    def _ease(self, key: tuple[np.ndarray, float, float]) -> float:
        """1 when style and controls are unchanged, falling to 0 as they move more in one
        frame than ``switch_ease``: history made with another style must not hold it back."""
        last = self._key
        if last is None:
            return 0.0
        moved = (float(np.abs(key[0] - last[0]).sum()) + abs(key[1] - last[1])
                 + abs(key[2] - last[2]))
        return 1.0 - min(1.0, moved / self.config.switch_ease)

    def _inputs(self, gray: np.ndarray, smooth: np.ndarray,
                key: tuple[np.ndarray, float, float], height: int,
                width: int) -> tuple[TemporalInputs, Motion | None]:
        """The graph's state inputs, and the motion they were warped by (None: no history
        is used for this frame)."""
        if self._gray is None or self._state is None or self._output is None:
            return self._empty(height, width), None
        cfg = self.config
        ease = self._ease(key)
        if ease <= 0.0:
            # An instant switch: this frame alone, exactly as without the cache.
            return self._empty(height, width), None
        flow, confidence = self._motion(gray, self._gray, smooth, self._smooth)
        if float((confidence < 0.5).mean()) > cfg.cut_fraction:
            self.stats.resets += 1
            self.reset()
            return self._empty(height, width), None
        rate = 1.0 - ease * (1.0 - cfg.stat_rate)
        conf_small = cv2.resize(confidence, (width, height), interpolation=cv2.INTER_AREA)
        inputs = TemporalInputs(
            prev_feats=self._warper.warp(self._state.features[0], flow)[None],
            confidence=(conf_small * (cfg.blend * ease))[None, None].astype(np.float32),
            prev_stats=self._state.stats,
            stat_rate=np.array([rate], np.float32),
        )
        return inputs, Motion(flow, confidence, ease, self._stills.mask(smooth))

    def _empty(self, height: int, width: int) -> TemporalInputs:
        return TemporalInputs.empty(self._channels, self._stats_channels, height, width)

    def _motion(self, gray: np.ndarray, prev: np.ndarray, smooth: np.ndarray | None = None,
                prev_smooth: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Backward flow (h, w, 2) float32 at flow resolution and confidence (h, w) in [0, 1].

        ``smooth`` and ``prev_smooth`` are the two grey frames blurred as in ``stylize``
        (blurred here when not given); see ``Confidence.measure``.
        """
        backward = self._flow.backward(gray, prev)
        h, w = gray.shape
        map_xy = self._warper.maps(backward, h, w)
        confidence = self._confidence.measure(
            gray, prev, backward, map_xy, lambda: self._flow.forward(gray, prev),
            smooth=smooth, prev_smooth=prev_smooth)
        return backward, confidence
