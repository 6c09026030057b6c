"""The sequences ``stylecast bench --temporal`` scores: synthetic motion (exact flow), held-out
photos moved by known motion, real clips (a reference flow) and ground-truth footage."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from stylecast.tools.bench.groundtruth import holds_flow, load_ground_truth
from stylecast.tools.synthetic import KINDS, flows_agree, lands_inside, make_sequence, texture

#: Real clips looked for under the clip root (each optional).
CLIPS = ("davis2016_480p/blackswan", "davis2016_480p/breakdance", "davis2016_480p/car-roundabout",
         "davis2016_480p/kite-surf", "sintel_mountain_2", "big_buck_bunny_480p_30s.mp4")


@dataclass
class Clip:
    """A scored sequence. ``flows[i]`` and ``valid[i]`` lie on the grid of frame i + 1 and
    point back to frame i (backward flow), or with ``forward`` on the grid of frame i and
    point on to frame i + 1 (ground-truth footage ships forward flow)."""

    name: str
    flow: str
    frames: list[np.ndarray]
    flows: list[np.ndarray]
    valid: list[np.ndarray]
    uncovered: list[np.ndarray] | None = None
    forward: bool = False

    def motion_at(self, t: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Flow and scoring mask on frame t's grid; None where the clip has none there
        (the last frame of a forward clip)."""
        if self.forward:
            return (self.flows[t], self.valid[t]) if t < len(self.flows) else None
        return self.flows[t - 1], self.valid[t - 1]


def synthetic_clips(size: tuple[int, int], length: int, noise: float) -> Iterator[Clip]:
    """Pan, zoom and moving object with exact flow, plus a still scene (static fast path)."""
    for kind in KINDS:
        seq = make_sequence(kind, length=length, size=size, noise=noise)
        uncovered = [~v for v in seq.valid] if kind == "object" else None
        yield Clip(f"synthetic {kind}", "exact", seq.frames, seq.flows, seq.valid, uncovered)
    w, h = size
    still = texture(h, w)
    rng = np.random.default_rng(5)
    frames = [np.clip(still + rng.normal(0, noise / 2, still.shape), 0, 255).astype(np.uint8)
              for _ in range(length)]
    zeros = [np.zeros((h, w, 2), np.float32)] * (length - 1)
    ones = [np.ones((h, w), bool)] * (length - 1)
    yield Clip("synthetic still (camera noise)", "exact", frames, zeros, ones)


#: Held-out photos (never trained on) that the photo sequences move, under the data root.
PHOTOS = "content/bsds500/test"


def photo_clips(root: Path, size: tuple[int, int], length: int, noise: float,
                count: int = 2) -> Iterator[Clip]:
    """Pan, zoom and moving object built from real held-out photos with exact motion: real
    camera content with ground-truth flow. Nothing when ``root`` has no such photos."""
    folder = root / PHOTOS
    files = sorted(folder.glob("*.jpg"))[:count + 1] if folder.is_dir() else []
    photos = [cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
              for img in (cv2.imread(str(f)) for f in files) if img is not None]
    for index, photo in enumerate(photos[:count]):
        name = files[index].stem
        for kind in KINDS:
            seq = make_sequence(kind, length=length, size=size, noise=noise, seed=index,
                                photo=photo, object_photo=photos[-1])
            uncovered = [~v for v in seq.valid] if kind == "object" else None
            yield Clip(f"photo {kind} ({PHOTOS}/{name})", "exact", seq.frames, seq.flows,
                       seq.valid, uncovered)


def reference_flow(frames: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Backward flows (DIS MEDIUM, full resolution) and forward-backward validity masks."""
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    grays = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    flows, valid = [], []
    for prev, cur in zip(grays, grays[1:], strict=False):
        backward = dis.calc(cur, prev, None)
        forward = dis.calc(prev, cur, None)
        flows.append(backward)
        valid.append(flows_agree(backward, forward) & lands_inside(backward))
    return flows, valid


# Video files open on titles and fades; start where the picture moves.
_VIDEO_SKIP = 300


def _read_frames(path: Path, size: tuple[int, int], length: int) -> list[np.ndarray]:
    frames: list[np.ndarray] = []
    if path.is_dir():
        for file in sorted(p for p in path.iterdir() if p.suffix in (".png", ".jpg"))[:length]:
            bgr = cv2.imread(str(file))
            if bgr is not None:
                frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    else:
        import av

        with av.open(str(path)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index < _VIDEO_SKIP:
                    continue
                frames.append(frame.to_ndarray(format="rgb24"))
                if len(frames) >= length:
                    break
    return [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]


def real_clips(root: Path, size: tuple[int, int], length: int) -> Iterator[Clip]:
    """The optional real clips under ``root`` that are present, resized to ``size``."""
    for name in CLIPS:
        path = root / name
        if not path.exists():
            continue
        frames = _read_frames(path, size, length)
        if len(frames) < 2:
            continue
        flows, valid = reference_flow(frames)
        yield Clip(name, "DIS medium", frames, flows, valid)


#: One ``--gt-flow`` sequence: frames folder, forward-flow folder, and a folder of occlusion
#: masks or of backward flows, or None.
GroundTruth = tuple[Path, Path, Path | None]
#: The reference-flow label of those rows; the summary picks them out by it.
GROUND_TRUTH = "ground truth"


def ground_truth_clip(source: GroundTruth, size: tuple[int, int], length: int) -> Clip:
    """A sequence with its true forward flow (:mod:`stylecast.tools.bench.groundtruth`), named
    after its frames folder and that folder's parent (Sintel's ``clean/alley_1`` and
    ``final/alley_1`` are two renders of one scene)."""
    frames_dir, flow_dir, occlusions_dir = source
    parent = frames_dir.parent.name
    name = f"{parent}/{frames_dir.name}" if parent else frames_dir.name
    frames, flows, visible = load_ground_truth(frames_dir, flow_dir, occlusions_dir, size,
                                               length)
    if occlusions_dir is None:
        label = f"{GROUND_TRUTH}, no occlusion mask"
    elif holds_flow(occlusions_dir):
        label = f"{GROUND_TRUTH}, occlusions by backward flow"
    else:
        label = GROUND_TRUTH
    return Clip(name, label, frames, flows, visible, forward=True)
