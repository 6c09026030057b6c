"""``TemporalFrameGraph``: ``FrameGraph`` plus the temporal cache's state as explicit tensors.

Everything the cache carries between frames enters and leaves as fixed-layout tensors, so an
ONNX, OpenVINO or TensorRT graph runs it with no Python inside:

========== ============================ =====================================================
name       shape, dtype                  meaning
========== ============================ =====================================================
frame      (1, H, W, 3) uint8            camera frame, RGB; H, W multiples of 4
style      (1, S) float32                style vector (the mixer's, crossfades included)
strength   (1,) float32 in [0, 1]        as in FrameGraph
preserve   (1,) float32 in [0, 1]        as in FrameGraph
prev_feats (1, H/4, W/4, C) float32      the last frame's decoder-input features, already
                                         warped to this frame by the cache (channels-last)
confidence (1, 1, H/4, W/4) float32      weight in [0, 1] of ``prev_feats``
prev_stats (1, 2, K) float32             smoothed mean (row 0) and variance (row 1) of
                                         every instance norm, K = channels of all norms
stat_rate  (1,) float32 in [0, 1]        EMA rate for the norm statistics; 1 = this frame's
========== ============================ =====================================================

Outputs: ``stylized`` (1, H, W, 3) uint8, ``features`` (1, H/4, W/4, C) float32 (the blended
features, cached for the next frame) and ``stats`` (1, 2, K) float32.

The warp itself happens before the graph (``stylecast.temporal.warp_cpu``, ``cv2.remap``), and
so does the blend of the warped last output, which the cache applies to ``stylized`` at full
resolution. Why an output blend at all: the lite decoder ends in a PixelShuffle, so each
feature cell owns a 4x4 block of pixels; warping features by a fraction of a cell cannot move
those blocks by a fraction, and a 3-pixel pan still shimmers.

Instance-norm statistics computed per frame flicker with sensor noise and small motion;
the graph mixes them with ``prev_stats`` as an EMA at ``stat_rate`` and returns what it used
as ``stats``. At rate 1 that is exactly the per-frame network, and the statistics come out
for free: the cache feeds them back at rate 0 when it runs the graph on a crop of the frame
(the region path, docs/TEMPORAL.md), so the crop is normalised as the whole frame was, not
by what the crop alone holds. Written out as mean and variance this no longer fuses into
OpenVINO's MVN op, which once cost 13 % per frame at 640x360; with OpenVINO 2026.4
it measured the same as the fused graph (28.1 against 28.7 ms at 480x272, 2026-11-25).
"""

from __future__ import annotations

import torch
from torch import nn

from stylecast.model.controls import apply_controls
from stylecast.model.graph import FrameGraph, frame_to_image, image_to_frame
from stylecast.model.network import ConditionalInstanceNorm, StyleNetwork

INPUT_NAMES = ("frame", "style", "strength", "preserve", "prev_feats", "confidence",
               "prev_stats", "stat_rate")
OUTPUT_NAMES = ("stylized", "features", "stats")
#: Whether the exported graph smooths norm statistics (see the module docstring).
SMOOTH_STATS = True


class _StatsTape:
    """Trace-time plumbing that hands each norm layer its slice of ``prev_stats``.

    It holds tensors only for the duration of one forward call, in a fixed layer order, so
    the traced graph has fixed slices and no Python state.
    """

    def __init__(self) -> None:
        self.prev: torch.Tensor | None = None
        self.rate: torch.Tensor | None = None
        self.offset = 0
        self.out: list[torch.Tensor] = []


class SmoothedInstanceNorm(nn.Module):
    """A ConditionalInstanceNorm whose mean and variance are an EMA taken from the tape."""

    def __init__(self, norm: ConditionalInstanceNorm, tape: _StatsTape) -> None:
        super().__init__()
        self.eps = norm.eps
        # The same Parameter objects: no copy of the style tables.
        self.scale = norm.scale
        self.shift = norm.shift
        self._tape = tape

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        tape, channels = self._tape, x.shape[1]
        mean = x.mean(dim=(2, 3))
        var = (x - mean[:, :, None, None]).pow(2).mean(dim=(2, 3))
        if tape.prev is not None and tape.rate is not None:
            start = tape.offset
            prev_mean = tape.prev[:, 0, start:start + channels]
            prev_var = tape.prev[:, 1, start:start + channels]
            rate = tape.rate.reshape(-1, 1)
            mean = prev_mean + rate * (mean - prev_mean)
            var = prev_var + rate * (var - prev_var)
        tape.offset += channels
        tape.out.append(torch.stack((mean, var), dim=1))
        normed = (x - mean[:, :, None, None]) * torch.rsqrt(var[:, :, None, None] + self.eps)
        gamma = (style @ self.scale)[:, :, None, None]
        beta = (style @ self.shift)[:, :, None, None]
        return normed * gamma + beta


class TemporalFrameGraph(FrameGraph):
    """The frame graph with the temporal state in and out (layout in the module docstring).

    Args:
        network: the network; with ``smooth_stats`` a copy is held whose norms read smoothed
            statistics (build a new graph after changing the network's weights).
        smooth_stats: smooth the norm statistics in-graph. Without it the norms keep their
            per-frame form (which OpenVINO fuses into one MVN op) and ``stats`` passes
            ``prev_stats`` through unchanged, so the I/O layout stays the same.
    """

    INPUT_NAMES = INPUT_NAMES
    OUTPUT_NAMES = OUTPUT_NAMES

    def __init__(self, network: StyleNetwork, smooth_stats: bool = SMOOTH_STATS) -> None:
        tape = _StatsTape()
        stats = network.stats_channels  # before its norms are replaced
        if smooth_stats:
            network = network.with_norms(lambda norm: SmoothedInstanceNorm(norm, tape))
        super().__init__(network)
        self._tape = tape
        self.smooth_stats = smooth_stats
        self.channels = network.spec.channels
        self.stats_channels = stats

    # More inputs and outputs than FrameGraph's, on purpose: the temporal state.
    def forward(  # type: ignore[override]
        self, frame: torch.Tensor, style: torch.Tensor, strength: torch.Tensor,
        preserve: torch.Tensor, prev_feats: torch.Tensor, confidence: torch.Tensor,
        prev_stats: torch.Tensor, stat_rate: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        tape = self._tape
        tape.prev, tape.rate, tape.offset, tape.out = prev_stats, stat_rate, 0, []
        try:
            image = frame_to_image(frame)
            net = self.network
            fresh = net.transform(net.encode(image, style), style)
            # Written out rather than torch.lerp: the ONNX export of lerp branches on
            # weight < 0.5 (Less, Where and both formulas), which OpenVINO runs as separate
            # passes over the features; this is one fused elementwise op.
            features = fresh + confidence * (prev_feats.permute(0, 3, 1, 2) - fresh)
            styled = net.decode(features, style, image)
            stats = torch.cat(tape.out, dim=2) if self.smooth_stats else prev_stats + 0.0
        finally:
            tape.prev, tape.rate, tape.out = None, None, []
        stylized = image_to_frame(apply_controls(styled, image, strength, preserve))
        return stylized, features.permute(0, 2, 3, 1), stats
