"""Footage with ground-truth optical flow for ``stylecast bench --temporal --gt-flow``.

The bench's real clips are scored with a flow it computes itself (DIS MEDIUM); footage that
ships its true motion, such as MPI Sintel's training set, gives a warping error no flow
method can bias. The layout read here is Sintel's, which most flow datasets share:

* a folder of frames (PNG or JPEG), in name order;
* a folder of Middlebury ``.flo`` files, in name order, file *t* holding the **forward**
  flow from frame *t* to frame *t + 1* (so one fewer than the frames);
* optionally a folder of occlusion masks (PNG), mask *t* white where a pixel of frame *t* is
  hidden in frame *t + 1* (Sintel's ``occlusions``).

The warping error is then the standard one (Lai et al. 2018): mean |O_t − O_{t+1} sampled at
x + F_t(x)| over the pixels of frame *t* that stay visible. ``Clip.forward`` marks such a
clip; :func:`clip_warping_error` scores either direction.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from stylecast.errors import ConfigError
from stylecast.temporal.synthetic import lands_inside

#: First four bytes of a Middlebury .flo file, read as a little-endian float32.
FLO_MAGIC = 202021.25
#: Middlebury's marker for "flow unknown here": components above this are not a motion.
FLO_UNKNOWN = 1e9
#: A downscaled pixel is scored only if the flow inside its footprint varies by less than
#: this (in output pixels, standard deviation): a footprint across a motion boundary mixes
#: two motions, and no single flow vector is right for it.
FOOTPRINT_SPREAD = 0.25

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def read_flo(path: Path) -> np.ndarray:
    """A Middlebury ``.flo`` file as (H, W, 2) float32 (x, y) flow in pixels.

    Raises:
        ConfigError: not a .flo file (wrong magic number) or cut short.
    """
    data = path.read_bytes()
    if len(data) < 12 or np.frombuffer(data[:4], "<f4")[0] != np.float32(FLO_MAGIC):
        raise ConfigError(f"{path} is not a Middlebury .flo flow file (its first 4 bytes "
                          f"are not the float {FLO_MAGIC}); --gt-flow expects .flo files")
    width, height = (int(v) for v in np.frombuffer(data[4:12], "<i4"))
    if width <= 0 or height <= 0:
        raise ConfigError(f"{path}: its header says {width}x{height}, not a flow size")
    expected = 12 + width * height * 2 * 4
    if len(data) < expected:
        raise ConfigError(f"{path} is cut short: its header says {width}x{height}, which "
                          f"needs {expected} bytes, and the file has {len(data)}")
    return np.frombuffer(data[12:expected], "<f4").reshape(height, width, 2).astype(np.float32)


def write_flo(path: Path, flow: np.ndarray) -> None:
    """Write (H, W, 2) flow as a Middlebury ``.flo`` file (tests, and converting footage)."""
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"flow must be (H, W, 2); got {flow.shape}")
    height, width = flow.shape[:2]
    header = np.array([FLO_MAGIC], "<f4").tobytes() + np.array([width, height], "<i4").tobytes()
    path.write_bytes(header + np.ascontiguousarray(flow, "<f4").tobytes())


def _files(folder: Path, suffixes: tuple[str, ...], what: str) -> list[Path]:
    if not folder.is_dir():
        raise ConfigError(f"--gt-flow: the {what} folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes)
    if not files:
        raise ConfigError(f"--gt-flow: no {'/'.join(suffixes)} files in the {what} folder "
                          f"{folder}")
    return files


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ConfigError(f"--gt-flow: cannot read the image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def resize_flow(flow: np.ndarray, visible: np.ndarray, size: tuple[int, int]
                ) -> tuple[np.ndarray, np.ndarray]:
    """Flow and its scoring mask at (width, height) ``size``.

    The flow is averaged over each new pixel's footprint and rescaled to the new pixels. A
    new pixel is scored only where its whole footprint was scored and moves as one (spread
    below :data:`FOOTPRINT_SPREAD`); the same size as the flow returns it unchanged.

    Args:
        flow: (H, W, 2) float32 flow in pixels of its own grid.
        visible: (H, W) bool, True where the flow may be scored.
        size: (width, height) wanted.
    """
    height, width = flow.shape[:2]
    if (width, height) == size:
        return flow, visible
    sx, sy = size[0] / width, size[1] / height
    scaled = flow * np.array([sx, sy], np.float32)
    mean = cv2.resize(scaled, size, interpolation=cv2.INTER_AREA)
    mean_sq = cv2.resize(scaled * scaled, size, interpolation=cv2.INTER_AREA)
    spread = np.sqrt(np.maximum(mean_sq - mean * mean, 0.0)).max(-1)
    whole = cv2.resize(visible.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.999
    return mean, whole & (spread < FOOTPRINT_SPREAD)


def load_ground_truth(frames_dir: Path, flow_dir: Path, occlusions_dir: Path | None,
                      size: tuple[int, int], length: int
                      ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Frames, forward flows and scoring masks, resized to (width, height) ``size``.

    At most ``length`` frames, and one more frame than there are flow files.

    Returns:
        (frames, flows, visible): n RGB uint8 frames, n - 1 forward flows (H, W, 2) float32
        and n - 1 bool masks on frame t's grid (not occluded, flow known, lands inside).

    Raises:
        ConfigError: a folder is missing or empty, a file is unreadable, or sizes or counts
            do not match.
    """
    frame_files = _files(frames_dir, _IMAGE_SUFFIXES, "frames")
    flow_files = _files(flow_dir, (".flo",), "flow")
    count = min(length, len(frame_files), len(flow_files) + 1)
    if count < 2:
        raise ConfigError(f"--gt-flow: {frames_dir} needs at least 2 frames and {flow_dir} "
                          "at least 1 flow file")
    mask_files: list[Path] | None = None
    if occlusions_dir is not None:
        mask_files = _files(occlusions_dir, (".png",), "occlusions")
        if len(mask_files) < count - 1:
            raise ConfigError(f"--gt-flow: {occlusions_dir} has {len(mask_files)} masks for "
                              f"{count - 1} flow files; it needs one per flow file")
    frames, flows, visible = [], [], []
    for t in range(count):
        rgb = _read_rgb(frame_files[t])
        frames.append(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
                      if rgb.shape[1::-1] != size else rgb)
        if t == count - 1:
            break
        flow = read_flo(flow_files[t])
        if flow.shape[:2] != rgb.shape[:2]:
            raise ConfigError(f"--gt-flow: {flow_files[t]} is {flow.shape[1]}x"
                              f"{flow.shape[0]} but {frame_files[t]} is {rgb.shape[1]}x"
                              f"{rgb.shape[0]}; flow and frames must be the same size")
        known = (np.abs(flow) < FLO_UNKNOWN).all(-1)
        flow = np.where(known[..., None], flow, 0.0).astype(np.float32)
        keep = known
        if mask_files is not None:
            mask = cv2.imread(str(mask_files[t]), cv2.IMREAD_GRAYSCALE)
            if mask is None or mask.shape != flow.shape[:2]:
                raise ConfigError(f"--gt-flow: {mask_files[t]} is unreadable or not the "
                                  "frames' size")
            keep = keep & (mask < 128)
        small, scored = resize_flow(flow, keep, size)
        flows.append(small)
        visible.append(scored & lands_inside(small))
    return frames, flows, visible
