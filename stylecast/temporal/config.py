"""The temporal cache's tuning and its counters."""

from __future__ import annotations

from dataclasses import dataclass

from stylecast.errors import ConfigError


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
