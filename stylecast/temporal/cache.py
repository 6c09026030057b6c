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
   input has held still since the pixel's anchor (``_still``).

Speed mode (``reuse``): up to ``reuse`` frames in a row skip the whole-frame run and carry
the last output and features by the flow; where the history is not trusted the network
runs on crops of the frame with the last whole frame's norm statistics (``region``,
``stylecast.temporal.region``), or the frame runs whole when the crops would not pay.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from stylecast.errors import ConfigError
from stylecast.runtime.base import Runtime
from stylecast.temporal.region import Crop, crop_sizes, crops_for, untrusted_cells
from stylecast.temporal.state import TemporalInputs, TemporalOutputs
from stylecast.temporal.warp_cpu import Warper


@dataclass(frozen=True)
class TemporalConfig:
    """Tuning of the cache; defaults measured with ``stylecast bench --temporal``.

    Attributes:
        blend: largest weight of the warped feature history (0 = per-frame features).
        output_blend: largest weight of the warped last output (0 = no output blend).
        still_blend: that weight where the input at a pixel has not drifted more than
            ``static_threshold`` since the pixel last took ``output_blend`` (its anchor):
            holds still regions steadier, and the anchor bounds how far the picture can lag
            a slow fade there (``output_blend`` or less: off).
        stat_rate: EMA rate of the norm statistics (1 = per-frame statistics); below 1 it
            needs a graph built with ``smooth_stats`` (off by default, see graph.py).
        flow_scale: flow resolution as a multiple of the feature resolution (H/4).
        flow_finest_scale: the finest pyramid level DIS searches: the flow is estimated on
            a grid 2**level coarser than the flow image and made dense from there (the
            ULTRAFAST preset's 2 loses the motion of small and non-rigid things; 1 costs
            ~0.3 ms more at 240x136, see docs/TEMPORAL.md).
        flow_patch_stride: pixels between the DIS patches at each level (ULTRAFAST: 4 with
            8-pixel patches); wider is cheaper and coarser.
        settle: flow components within this (flow pixels) of the frame's median motion are
            set to it (0 = off). DIS's noise of a tenth of a pixel or so where the scene
            holds still made the cache resample its history there every frame, and bilinear
            resampling compounds into blur: a still background kept ~64 % of per-frame
            detail, settled ~88 % (docs/TEMPORAL.md). Snapping to the median rather than
            to zero leaves a slow camera drift moving.
        photo_smooth: run the photometric check on the blurred grey frames (those the static
            check compares) instead of the raw ones. Resampling a sharp edge by a fraction of
            a pixel misses by tens of levels in raw grey, so the raw check rejected history
            along the edges of textured content under a correct flow (a photo pan: 23 % of
            the feature cells against 2.6 % blurred, docs/TEMPORAL.md).
        photo_low: grey-level error (0..255) up to which history is fully trusted.
        photo_high: grey-level error from which history is rejected.
        static_threshold: largest blurred grey change (levels) that still counts as static.
        cut_fraction: fraction of rejected pixels that marks a scene cut.
        switch_ease: L1 change of the style vector in one frame that drops history entirely.
        erode: side of the square (flow pixels) by which rejected regions grow; covers the
            decoder's reach across a moving edge, so no trail is left behind objects.
        consistency_check: also compute the forward flow and reject where the two disagree
            (occlusions; one more DIS run, ~1.2 ms at 640x360); without it, motion
            boundaries (``boundary``) and the photometric check guard disocclusions.
        boundary: compression of the flow (pixels per pixel) from which a pixel counts as
            uncovered when ``consistency_check`` is off: where the backward flow falls by
            more than this along its own axis, the frame was pulled open there.
        reuse: at most this many frames in a row may skip the network and show the last
            output motion-compensated instead (0 = never): the cache's speed mode.
        reuse_confidence: without ``region``: fraction of the frame whose history must be
            trusted for a frame to be reused (the rest shows the old picture moved along);
            style, strength and colour preservation must also be unchanged.
        region: on a reused frame, run the network on a crop around the cells whose
            history is not trusted (``stylecast.temporal.region``) and take its result
            there, so nothing the history cannot show is shown stale; a frame whose crop
            would be too large, or not ready on the runtime, runs whole.
        region_margin: cells (4 px each) of context around the untrusted cells in a crop.
        region_max_area: largest total crop area, as a fraction of the frame, for the
            region path (beyond it the crops would save little).
    """

    blend: float = 0.8
    output_blend: float = 0.7
    still_blend: float = 0.9
    stat_rate: float = 1.0
    flow_scale: int = 2
    flow_finest_scale: int = 1
    flow_patch_stride: int = 7
    settle: float = 0.1
    photo_smooth: bool = True
    photo_low: float = 6.0
    photo_high: float = 18.0
    static_threshold: float = 2.5
    cut_fraction: float = 0.6
    switch_ease: float = 0.5
    erode: int = 5
    consistency_check: bool = False
    boundary: float = 0.4
    reuse: int = 1
    reuse_confidence: float = 0.9
    region: bool = True
    region_margin: int = 8
    region_max_area: float = 0.5

    def __post_init__(self) -> None:
        if self.reuse < 0:
            raise ConfigError(f"--temporal-reuse must be 0 or more, not {self.reuse}")
        if self.flow_finest_scale < 0 or self.flow_patch_stride < 1:
            raise ConfigError("the cache's flow needs flow_finest_scale >= 0 and "
                              f"flow_patch_stride >= 1, not {self.flow_finest_scale} and "
                              f"{self.flow_patch_stride}")


@dataclass
class TemporalStats:
    """Counters since the cache was made; read by the status line and the bench."""

    frames: int = 0
    static_frames: int = 0
    reused_frames: int = 0  # network skipped, last output warped (``reuse``)
    region_frames: int = 0  # of those, the network run on a crop (``region``)
    resets: int = 0
    overhead_ms: float = 0.0  # cache work outside the network, summed

    def as_dict(self) -> dict[str, float]:
        ran = max(1, self.frames - self.static_frames)
        return {"frames": self.frames, "static_frames": self.static_frames,
                "reused_frames": self.reused_frames, "region_frames": self.region_frames,
                "resets": self.resets,
                "overhead_ms_per_frame": self.overhead_ms / ran}


def _blurred(gray: np.ndarray) -> np.ndarray:
    """The grey frame as the static, still and photometric checks compare it."""
    return cv2.GaussianBlur(gray, (5, 5), 0)


class _Motion(NamedTuple):
    """This frame's motion against the last one, at flow resolution."""

    flow: np.ndarray  # (h, w, 2) float32 backward flow
    confidence: np.ndarray  # (h, w) float32 in [0, 1]
    ease: float  # 1 with style and controls unchanged (see TemporalCache._ease)
    still: np.ndarray | None  # (h, w) uint8, 255 where the input held still (TemporalCache._still)


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
        cfg = self.config
        self._dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        # The preset's own stride, kept for flow images too small for the configured
        # pyramid (_fit_dis).
        self._preset_stride = self._dis.getPatchStride()
        self._dis_size: tuple[int, int] | None = None  # flow image size _fit_dis set it for
        self._warper = Warper()
        errors = np.arange(256, dtype=np.float32)
        self._photometric_ramp = np.clip(
            (cfg.photo_high - errors) / (cfg.photo_high - cfg.photo_low), 0.0, 1.0)
        self._erode_kernel = np.ones((cfg.erode, cfg.erode), np.uint8)
        self._prepared: tuple[int, int] | None = None  # feature grid _prepare_crops ran for
        self.reset()

    def reset(self) -> None:
        """Forget the history; the next frame is stylized on its own."""
        self._gray: np.ndarray | None = None
        self._smooth: np.ndarray | None = None  # _gray blurred
        self._state: TemporalOutputs | None = None
        self._output: np.ndarray | None = None
        self._key: tuple[np.ndarray, float, float] | None = None
        self._reused = 0  # frames reused since the network last ran
        self._anchor: np.ndarray | None = None  # blurred grey each pixel is held to

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
        smooth = _blurred(gray)
        self.stats.frames += 1
        if self._gray is not None and self._gray.shape != gray.shape:
            self.reset()
        if cfg.reuse and cfg.region and self._prepared != (height, width):
            self._prepare_crops(height, width)
        if self._static(smooth, style, strength, preserve) and self._output is not None:
            self.stats.static_frames += 1
            self.stats.overhead_ms += (time.perf_counter() - t0) * 1000.0
            return self._output
        inputs, motion = self._inputs(gray, smooth, (style, strength, preserve), height, width)
        if motion is not None and self._may_reuse(motion):
            crops = [] if not cfg.region else crops_for(
                untrusted_cells(inputs.confidence[0, 0], 0.5 * cfg.blend),
                cfg.region_margin, cfg.region_max_area)
            # Every crop size asked for, so those not compiled yet all start compiling.
            if crops is not None and all([self.runtime.temporal_ready(c.height * 4, c.width * 4)
                                          for c in crops]):
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

    def _prepare_crops(self, height: int, width: int) -> None:
        """Ask the runtime for every crop size of this feature grid at once: one that
        prepares each size in the background (OpenVINO) then does them all at the start,
        where the memory they take is part of the warm-up, rather than one by one as a long
        show meets them (issue #23)."""
        self._prepared = (height, width)
        for rows, cols in crop_sizes(height, width, self.config.region_max_area):
            self.runtime.temporal_ready(rows * 4, cols * 4)

    def _may_reuse(self, motion: _Motion) -> bool:
        """Whether this frame may skip the whole-frame network run: reuse allowed and not
        used up, style and controls unchanged (ease 1), and, without the region path,
        enough of the frame trusted."""
        cfg = self.config
        if self._reused >= cfg.reuse or motion.ease < 1.0:
            return False
        return cfg.region or float((motion.confidence > 0.5).mean()) >= cfg.reuse_confidence

    def _reuse(self, frame: np.ndarray, gray: np.ndarray, smooth: np.ndarray,
               inputs: TemporalInputs, motion: _Motion, crops: list[Crop],
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

    def _refresh(self, frame: np.ndarray, inputs: TemporalInputs, motion: _Motion,
                 crop: Crop, out: np.ndarray, stats: np.ndarray) -> float:
        """Run the network on ``crop`` and blend its result into ``out`` and the carried
        features (``inputs.prev_feats``) in place; returns the network's time (s)."""
        cfg = self.config
        key = self._key
        if key is None:  # reuse needs the style it was made with
            raise RuntimeError("temporal cache: a frame was reused without a style")
        cells, pixels = crop.cells(), crop.pixels(4)
        sub = TemporalInputs(
            prev_feats=np.ascontiguousarray(inputs.prev_feats[0, cells[0], cells[1]])[None],
            confidence=np.ascontiguousarray(inputs.confidence[0, 0, cells[0], cells[1]])[
                None, None],
            prev_stats=stats, stat_rate=np.zeros(1, np.float32))
        t0 = time.perf_counter()
        fresh, fresh_state = self.runtime.infer_temporal(
            np.ascontiguousarray(frame[pixels[0], pixels[1]]), key[0], key[1], key[2], sub)
        elapsed = time.perf_counter() - t0
        # The fresh result's weight, for features and picture alike: 1 - c, 1 where the
        # history is not trusted at all and 0 where it is fully trusted, as it is outside the
        # crop's inner part (the carried picture as it is). Weighing the picture as a
        # whole-frame run's output blend would, (1 - c)(1 - output_blend c), left more of the
        # old picture on the uncovered background (15.7 levels against 14.1 in the tests'
        # object sequence; 11.1 for whole-frame runs, 31.7 carried alone).
        features = inputs.prev_feats[0]
        rows, cols = crop.inner_in(1)
        local = crop.inner_in_crop(1)
        trust = inputs.confidence[0, 0, rows, cols] / cfg.blend
        carried = features[rows, cols]
        features[rows, cols] = carried + (1.0 - trust)[..., None] * (
            fresh_state.features[0, local[0], local[1]] - carried)
        rows, cols = crop.inner_in(4)
        local = crop.inner_in_crop(4)
        flow_rows, flow_cols = crop.inner_in(cfg.flow_scale)
        c = motion.confidence[flow_rows, flow_cols]
        small = cv2.convertScaleAbs(1.0 - c, alpha=255.0)
        weight = cv2.resize(small, (cols.stop - cols.start, rows.stop - rows.start),
                            interpolation=cv2.INTER_LINEAR)
        weight = cv2.merge((weight, weight, weight))
        kept = cv2.multiply(out[rows, cols], cv2.bitwise_not(weight), scale=1.0 / 255.0)
        out[rows, cols] = cv2.add(kept, cv2.multiply(
            np.ascontiguousarray(fresh[local[0], local[1]]), weight, scale=1.0 / 255.0))
        return elapsed

    def _blend_output(self, out: np.ndarray, motion: _Motion) -> np.ndarray:
        """Blend the last output, warped to this frame, into ``out`` (full resolution)."""
        if self._output is None or self.config.output_blend <= 0.0:
            return out
        height, width = out.shape[:2]
        warped = self._warper.warp(self._output, motion.flow)
        # The weight as uint8 (255 = all history), resized with three channels so the blend
        # is two saturating uint8 multiplies and an add: a third cheaper than blendLinear's
        # float weights at 640x360; each product rounds, so it may differ by a level.
        scale = 255.0 * self.config.output_blend * motion.ease
        small = cv2.convertScaleAbs(motion.confidence, alpha=scale)
        if motion.still is not None:
            still_scale = 255.0 * self.config.still_blend * motion.ease
            small = cv2.copyTo(cv2.convertScaleAbs(motion.confidence, alpha=still_scale),
                               motion.still, small)
        # Resized as one channel and merged after: 0.1 ms less than resizing three.
        full = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
        weight = cv2.merge((full, full, full))
        history = cv2.multiply(warped, weight, scale=1.0 / 255.0)
        return cv2.add(history, cv2.multiply(out, cv2.bitwise_not(weight), scale=1.0 / 255.0))

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
                width: int) -> tuple[TemporalInputs, _Motion | None]:
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
        return inputs, _Motion(flow, confidence, ease, self._still(smooth))

    def _still(self, smooth: np.ndarray) -> np.ndarray | None:
        """255 where the (blurred) input has not drifted more than ``static_threshold`` from
        the pixel's anchor, else 0; the anchor moves to this frame wherever it drifted. None
        when the still blend is off.

        A per-pixel version of the static path. Comparing with the last frame alone would let
        a slow fade (under the threshold a frame) hold the larger weight for ever, the
        picture trailing the input by ~rate x blend / (1 - blend); against the anchor, a
        pixel takes the normal weight again once the fade adds up to the threshold. The
        anchor holds the *blurred* grey, each pixel its own: blurring the difference of
        anchors taken at different frames would average a drifted pixel with refreshed
        neighbours and hold it for a dozen frames of a fade.
        """
        cfg = self.config
        if cfg.still_blend <= cfg.output_blend:
            return None
        anchor = self._anchor
        if anchor is None or anchor.shape != smooth.shape:
            self._anchor = smooth
            return None
        drift = cv2.subtract(smooth, anchor, dtype=cv2.CV_16S)
        limit = cfg.static_threshold
        still = cv2.inRange(drift, -limit, limit)
        # Where it drifted the anchor is this frame: a masked copy of the old one over it.
        self._anchor = cv2.copyTo(anchor, still, smooth)
        return still

    def _empty(self, height: int, width: int) -> TemporalInputs:
        return TemporalInputs.empty(self._channels, self._stats_channels, height, width)

    def _fit_dis(self, height: int, width: int) -> None:
        """Set DIS's finest level and patch stride for a flow image of this size: the
        configured ones, or, where the image is too small for them, one level under the
        coarsest and the ULTRAFAST preset's stride (4).

        DIS starts its search at a level set by the image size (OpenCV: log2 of the longer
        side over four patches, rounded, and at most log2 of the shorter side over one
        patch). With no coarser level above the finest, the search has nothing to start
        from: on a 64x48 flow image (a 128x96 frame) the search at level 1 missed a 2-pixel
        motion by 0.33 px on average, at level 0 by 0.15 px; and a wide stride leaves few
        patches on so small an image.
        """
        cfg = self.config
        patch = self._dis.getPatchSize()
        coarsest = min(int(math.log2(max(height, width) / (4.0 * patch)) + 0.5),
                       int(math.log2(min(height, width) / patch)))
        if coarsest > cfg.flow_finest_scale:
            self._dis.setFinestScale(cfg.flow_finest_scale)
            self._dis.setPatchStride(cfg.flow_patch_stride)
        else:
            self._dis.setFinestScale(max(0, coarsest - 1))
            self._dis.setPatchStride(self._preset_stride)

    def _motion(self, gray: np.ndarray, prev: np.ndarray, smooth: np.ndarray | None = None,
                prev_smooth: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Backward flow (h, w, 2) float32 at flow resolution and confidence (h, w) in [0, 1].

        ``smooth`` and ``prev_smooth`` are the two grey frames blurred as in ``stylize``
        (blurred here when not given); the photometric check compares them when
        ``photo_smooth`` is on.
        """
        cfg = self.config
        h, w = gray.shape
        if self._dis_size != (h, w):
            self._fit_dis(h, w)
            self._dis_size = (h, w)
        backward = self._settle(self._dis.calc(gray, prev, None))  # type: ignore[call-overload]
        map_xy = self._warper.maps(backward, h, w)
        now, then = gray, prev
        if cfg.photo_smooth:
            # Blurred frames: a fractional-pixel resampling of a sharp edge no longer misses.
            now = _blurred(gray) if smooth is None else smooth
            then = _blurred(prev) if prev_smooth is None else prev_smooth
        warped = cv2.remap(then, map_xy, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        error = cv2.absdiff(now, warped)
        if not cfg.photo_smooth:
            error = cv2.blur(error, (3, 3))  # the raw check's grey-level error, box-blurred
        # Through the trust ramp as a lookup table.
        confidence = cv2.LUT(error, self._photometric_ramp)
        # Sources outside the frame have no history (inRange: 255 inside, 0 outside). Within
        # half a pixel of the outermost pixel centres the replicated border is the right
        # content; without that slack, a still scene's flow noise of a hundredth of a pixel
        # rejected whole rows and columns at the frame's edge.
        keep = cv2.inRange(map_xy, (-0.5, -0.5), (w - 0.5, h - 0.5))
        if cfg.consistency_check:
            keep &= self._consistent(gray, prev, backward, map_xy)
        else:
            keep &= self._smooth_motion(backward)
        # Zero where not kept (a masked AND copies only the kept pixels' bytes).
        confidence = cv2.bitwise_and(confidence, confidence, mask=keep)
        # Erode so the edges of moving objects take fresh features: no trails behind them.
        return backward, cv2.erode(confidence, self._erode_kernel)

    def _settle(self, flow: np.ndarray) -> np.ndarray:
        """``flow`` with each component within ``settle`` of the frame's median motion set
        to that median (in place; see ``TemporalConfig.settle``)."""
        limit = self.config.settle
        if limit <= 0.0:
            return flow
        h, w = flow.shape[:2]
        # The middle of every fourth pixel each way: the same motion, a sixteenth the sort.
        sample = flow[::4, ::4].reshape(-1, 2)
        median = np.partition(sample, len(sample) // 2, axis=0)[len(sample) // 2]
        # As one channel of x, y pairs, so one compare and one masked copy do both axes
        # (0.14 ms at 240x136; numpy's masked assignment took 0.35).
        pairs = flow.reshape(h, w * 2)
        medians = np.repeat(np.tile(median, w)[None], h, axis=0)
        near = cv2.compare(cv2.absdiff(pairs, medians), limit, cv2.CMP_LT)
        cv2.copyTo(medians, near, pairs)
        return flow

    def _smooth_motion(self, backward: np.ndarray) -> np.ndarray:
        """0 where the frame was pulled open, else 255.

        Where an object moves over its background, the side it uncovers has no true match,
        and one flow direction cannot tell it from a match; there the backward flow *falls*
        along the motion (background ~0, then the object's -d: d/dx of b_x is about -d over
        the edge), so the sampling map x + b(x) folds back on itself. Only that is
        rejected: a rising flow (the side where the object covers background, or a zoom
        in) and shear (an edge parallel to the motion) uncover nothing. Rejecting any steep
        gradient, as the first version did, also threw away history wherever the fast flow
        is noisy: kite-surf's warping-error ratio 0.62 with this test, 0.72 with that one,
        at 480x272, for the same trails.
        """
        limit = self.config.boundary * 8.0  # a 3x3 Sobel sums 8 differences
        # Across x only b_x is tested, down y only b_y; on split planes that is two
        # one-channel Sobels and one compare (0.08 ms at 240x136, half of filtering both
        # planes twice and bounding each result with inRange).
        bx, by = cv2.split(backward)
        falling = cv2.min(cv2.Sobel(bx, cv2.CV_32F, 1, 0, ksize=3),
                          cv2.Sobel(by, cv2.CV_32F, 0, 1, ksize=3))
        return cv2.compare(falling, -limit, cv2.CMP_GE)

    def _consistent(self, gray: np.ndarray, prev: np.ndarray, backward: np.ndarray,
                    map_xy: np.ndarray) -> np.ndarray:
        """Forward-backward consistency (Sundaram et al. 2010): 0 where content appears, else
        255."""
        forward = self._dis.calc(prev, gray, None)  # type: ignore[call-overload]
        forward_at = cv2.remap(forward, map_xy, None, cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
        # On split planes: numpy reductions over the interleaved last axis cost 3 ms here.
        bx, by = cv2.split(backward)
        fx, fy = cv2.split(forward_at)
        sx, sy = bx + fx, by + fy
        mismatch = sx * sx + sy * sy
        bound = 0.01 * (bx * bx + by * by + fx * fx + fy * fy) + 0.5
        return (mismatch <= bound).view(np.uint8) * np.uint8(255)
