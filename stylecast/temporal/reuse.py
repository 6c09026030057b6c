"""Speed mode: frames that skip the whole-frame network run, and the crops that refresh them.

Up to ``reuse`` frames in a row carry the last output and features by the flow; where the
history is not trusted the network runs on crops of the frame with the last whole frame's
norm statistics (``stylecast.temporal.region``), or the frame runs whole when the crops
would not pay.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from stylecast.runtime.base import Runtime
from stylecast.temporal.config import TemporalConfig
from stylecast.temporal.motion import Motion
from stylecast.temporal.region import Crop, crop_sizes, crops_for, untrusted_cells
from stylecast.temporal.state import TemporalInputs

#: The style vector, strength and colour preservation a frame was stylized with.
StyleKey = tuple[np.ndarray, float, float]


def prepare_crops(runtime: Runtime, height: int, width: int, max_area: float) -> None:
    """Ask the runtime for every crop size of this feature grid at once: one that
    prepares each size in the background (OpenVINO) then does them all at the start,
    where the memory they take is part of the warm-up, rather than one by one as a long
    show meets them (issue #23)."""
    for rows, cols in crop_sizes(height, width, max_area):
        runtime.temporal_ready(rows * 4, cols * 4)


def may_reuse(config: TemporalConfig, reused: int, motion: Motion) -> bool:
    """Whether this frame may skip the whole-frame network run: reuse allowed and not
    used up, style and controls unchanged (ease 1), and, without the region path,
    enough of the frame trusted."""
    cfg = config
    if reused >= cfg.reuse or motion.ease < 1.0:
        return False
    return cfg.region or float((motion.confidence > 0.5).mean()) >= cfg.reuse_confidence


def crops_to_refresh(runtime: Runtime, config: TemporalConfig,
                     inputs: TemporalInputs) -> list[Crop] | None:
    """The crops a reused frame runs the network on (none without ``region``), or None
    when the frame should run whole: the crops would cover too much, or a crop size is not
    ready on the runtime yet (every size is asked for, so those not compiled all start)."""
    crops = [] if not config.region else crops_for(
        untrusted_cells(inputs.confidence[0, 0], 0.5 * config.blend),
        config.region_margin, config.region_max_area)
    if crops is None or not all([runtime.temporal_ready(c.height * 4, c.width * 4)
                                 for c in crops]):
        return None
    return crops


def refresh_crop(runtime: Runtime, config: TemporalConfig, key: StyleKey, frame: np.ndarray,
                 inputs: TemporalInputs, motion: Motion, crop: Crop, out: np.ndarray,
                 stats: np.ndarray) -> float:
    """Run the network on ``crop`` of ``frame`` with the last whole frame's norm ``stats``
    and blend its result into ``out`` and the carried features (``inputs.prev_feats``) in
    place, by how little the history there is trusted; returns the network's time (s)."""
    cfg = config
    cells, pixels = crop.cells(), crop.pixels(4)
    sub = TemporalInputs(
        prev_feats=np.ascontiguousarray(inputs.prev_feats[0, cells[0], cells[1]])[None],
        confidence=np.ascontiguousarray(inputs.confidence[0, 0, cells[0], cells[1]])[
            None, None],
        prev_stats=stats, stat_rate=np.zeros(1, np.float32))
    t0 = time.perf_counter()
    fresh, fresh_state = runtime.infer_temporal(
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
