"""Footage with ground-truth optical flow for ``stylecast bench --temporal --gt-flow``.

The bench's real clips are scored with a flow it computes itself (DIS MEDIUM); footage that
ships its true motion, such as MPI Sintel's training set, gives a warping error no flow
method can bias. The layout read here is Sintel's, which most flow datasets share:

* a folder of frames (PNG or JPEG), in name order;
* a folder of flow files, in name order, file *t* holding the **forward** flow from frame
  *t* to frame *t + 1* (one fewer than the frames, or one per frame with the last unused, as
  the Scene Flow datasets ship ``into_future``). Read by suffix: Middlebury ``.flo``
  (Sintel, FlyingChairs), ``.pfm`` (FlyingThings3D, Monkaa, Driving), KITTI's 16-bit
  ``.png`` (u, v, valid) and numpy ``.npy`` (H, W, 2);
* optionally, what tells which pixels stay visible: a folder of occlusion masks (8-bit PNG,
  white where a pixel of frame *t* is hidden in frame *t + 1*, Sintel's ``occlusions``), or
  a folder of **backward** flow files, from which the hidden pixels are found by the
  forward-backward check (for footage that ships both directions but no masks: Scene
  Flow's ``into_past``).

The warping error is then the standard one (Lai et al. 2018): mean |O_t − O_{t+1} sampled at
x + F_t(x)| over the pixels of frame *t* that stay visible. ``Clip.forward`` marks such a
clip; :func:`clip_warping_error` scores either direction.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from stylecast.errors import ConfigError
from stylecast.tools.synthetic import flows_agree, lands_inside

#: First four bytes of a Middlebury .flo file, read as a little-endian float32.
FLO_MAGIC = 202021.25
#: Middlebury's marker for "flow unknown here": components above this are not a motion.
FLO_UNKNOWN = 1e9
#: A downscaled pixel is scored only if the flow inside its footprint varies by less than
#: this (in output pixels, standard deviation): a footprint across a motion boundary mixes
#: two motions, and no single flow vector is right for it.
FOOTPRINT_SPREAD = 0.25

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
#: Flow files read by :func:`read_flow`.
FLOW_SUFFIXES = (".flo", ".pfm", ".png", ".npy")
#: KITTI stores u and v as uint16 ``64 * flow + 2**15``.
_KITTI_OFFSET, _KITTI_SCALE = 2.0 ** 15, 64.0
#: Fraction of frame t's pixels the backward flow may call hidden before it is taken for the
#: wrong folder or a shifted order (real footage hides a few per cent a frame).
_MOST_HIDDEN = 0.5


def read_flo(path: Path) -> np.ndarray:
    """A Middlebury ``.flo`` file as (H, W, 2) float32 (x, y) flow in pixels.

    Raises:
        ConfigError: not a .flo file (wrong magic number) or cut short.
    """
    data = path.read_bytes()
    if len(data) < 12 or np.frombuffer(data[:4], "<f4")[0] != np.float32(FLO_MAGIC):
        raise ConfigError(f"{path} is not a Middlebury .flo flow file (its first 4 bytes "
                          f"are not the float {FLO_MAGIC}, 'PIEH')")
    width, height = (int(v) for v in np.frombuffer(data[4:12], "<i4"))
    if width <= 0 or height <= 0:
        raise ConfigError(f"{path}: its header says {width}x{height}, not a flow size")
    expected = 12 + width * height * 2 * 4
    if len(data) < expected:
        raise ConfigError(f"{path} is cut short: its header says {width}x{height}, which "
                          f"needs {expected} bytes, and the file has {len(data)}")
    return np.frombuffer(data[12:expected], "<f4").reshape(height, width, 2).astype(np.float32)


def read_pfm(path: Path) -> np.ndarray:
    """A three-channel PFM file (the Scene Flow datasets' flow) as (H, W, 2) float32.

    PFM stores rows bottom to top, little-endian when its scale is negative; the third
    channel of a flow PFM is unused.

    Raises:
        ConfigError: not a three-channel PFM, or cut short.
    """
    data = path.read_bytes()
    # Magic, width, height and scale, each ended by whitespace; one byte of it before data.
    header = re.match(rb"(P[Ff])\s+(\d+)\s+(\d+)\s+(\S+)\s", data)
    if header is None:
        raise ConfigError(f"{path} is not a PFM file (no PF, width, height, scale header)")
    if header[1] == b"Pf":
        raise ConfigError(f"{path} is a one-channel PFM (a disparity map?), not a flow")
    width, height = int(header[2]), int(header[3])
    try:
        scale = float(header[4])
    except ValueError as exc:
        raise ConfigError(f"{path}: the PFM scale {header[4]!r} is not a number") from exc
    start, count = header.end(), width * height * 3
    if width <= 0 or height <= 0 or len(data) - start < count * 4:
        raise ConfigError(f"{path} is cut short or malformed: its header says {width}x"
                          f"{height}, which needs {count * 4} bytes of data")
    order = "<f4" if scale < 0 else ">f4"
    planes = np.frombuffer(data, order, count, start).reshape(height, width, 3)
    return np.ascontiguousarray(planes[::-1, :, :2], dtype=np.float32)


def read_kitti_png(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A KITTI flow PNG (16-bit; u, v, valid) as (H, W, 2) float32 flow and (H, W) bool
    "known" mask.

    Raises:
        ConfigError: not a 16-bit three-channel PNG.
    """
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None or image.dtype != np.uint16 or image.ndim != 3 or image.shape[2] != 3:
        kind = "unreadable" if image is None else f"{image.dtype} with shape {image.shape}"
        raise ConfigError(f"{path} is not a KITTI flow PNG (16-bit, three channels: u, v, "
                          f"valid); it is {kind}")
    valid, v, u = cv2.split(image)  # OpenCV reads B, G, R: KITTI's valid, v, u
    flow = (np.dstack((u, v)).astype(np.float32) - _KITTI_OFFSET) / _KITTI_SCALE
    return flow, valid > 0


def read_flow(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Any flow file of :data:`FLOW_SUFFIXES`, by suffix.

    Returns:
        (flow, known): (H, W, 2) float32 in pixels, 0 where unknown, and (H, W) bool, False
        where the file marks the flow unknown (Middlebury's > 1e9, KITTI's valid = 0, not
        finite).

    Raises:
        ConfigError: the file does not hold a flow in the format its suffix names.
    """
    suffix = path.suffix.lower()
    if suffix == ".flo":
        flow = read_flo(path)
        known = (np.abs(flow) < FLO_UNKNOWN).all(-1)
    elif suffix == ".pfm":
        flow = read_pfm(path)
        known = np.isfinite(flow).all(-1)
    elif suffix == ".png":
        flow, known = read_kitti_png(path)
    elif suffix == ".npy":
        try:
            flow = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise ConfigError(f"{path} is not a numpy array file ({exc})") from exc
        if flow.ndim != 3 or flow.shape[2] != 2 or flow.dtype.kind != "f":
            raise ConfigError(f"{path} holds a {flow.dtype} array of shape {flow.shape}; a "
                              "flow .npy must be float (H, W, 2)")
        flow = flow.astype(np.float32)
        known = np.isfinite(flow).all(-1)
    else:
        raise ConfigError(f"{path}: {suffix or 'no suffix'} is not a flow format read here "
                          f"({', '.join(FLOW_SUFFIXES)})")
    return np.where(known[..., None], flow, 0.0).astype(np.float32), known


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


def holds_flow(folder: Path) -> bool:
    """Whether the third ``--gt-flow`` folder holds backward flows rather than occlusion
    masks: flow files, or PNGs that are 16-bit (KITTI's encoding; masks are 8-bit)."""
    if not folder.is_dir():
        return False
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in FLOW_SUFFIXES)
    if not files or any(p.suffix.lower() != ".png" for p in files):
        return bool(files)
    first = cv2.imread(str(files[0]), cv2.IMREAD_UNCHANGED)
    return first is not None and first.dtype == np.uint16


def _check_size(what: Path, shape: tuple[int, ...], frame_file: Path,
                frame_shape: tuple[int, ...]) -> None:
    if shape[:2] != frame_shape[:2]:
        raise ConfigError(f"--gt-flow: {what} is {shape[1]}x{shape[0]} but {frame_file} is "
                          f"{frame_shape[1]}x{frame_shape[0]}; flow and frames must be the "
                          "same size")


def load_ground_truth(frames_dir: Path, flow_dir: Path, occlusions_dir: Path | None,
                      size: tuple[int, int], length: int
                      ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Frames, forward flows and scoring masks, resized to (width, height) ``size``.

    At most ``length`` frames, and one more frame than there are flow files.

    Args:
        occlusions_dir: occlusion masks, or backward flows (file t from frame t + 1 to t;
            a folder with one per frame, Scene Flow's ``into_past``, whose file t goes from
            frame t to t - 1, is read from its second file on), or None.

    Returns:
        (frames, flows, visible): n RGB uint8 frames, n - 1 forward flows (H, W, 2) float32
        and n - 1 bool masks on frame t's grid (not occluded, flow known, lands inside).

    Raises:
        ConfigError: a folder is missing or empty, a file is unreadable, sizes or counts do
            not match, or the backward flow disagrees with the forward one almost everywhere
            (the wrong folder, or files shifted by one).
    """
    frame_files = _files(frames_dir, _IMAGE_SUFFIXES, "frames")
    flow_files = _files(flow_dir, FLOW_SUFFIXES, "flow")
    count = min(length, len(frame_files), len(flow_files) + 1)
    if count < 2:
        raise ConfigError(f"--gt-flow: {frames_dir} needs at least 2 frames and {flow_dir} "
                          "at least 1 flow file")
    mask_files: list[Path] | None = None
    backward_files: list[Path] | None = None
    if occlusions_dir is not None and holds_flow(occlusions_dir):
        backward_files = _files(occlusions_dir, FLOW_SUFFIXES, "backward flow")
        if len(backward_files) >= len(frame_files):
            backward_files = backward_files[1:]  # one per frame: file t goes to frame t - 1
        if len(backward_files) < count - 1:
            raise ConfigError(f"--gt-flow: {occlusions_dir} has {len(backward_files)} "
                              f"backward flows for {count - 1} forward ones; it needs one "
                              "per forward flow")
    elif occlusions_dir is not None:
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
        flow, keep = read_flow(flow_files[t])
        _check_size(flow_files[t], flow.shape, frame_files[t], rgb.shape)
        if mask_files is not None:
            mask = cv2.imread(str(mask_files[t]), cv2.IMREAD_GRAYSCALE)
            if mask is None or mask.shape != flow.shape[:2]:
                raise ConfigError(f"--gt-flow: {mask_files[t]} is unreadable or not the "
                                  "frames' size")
            keep = keep & (mask < 128)
        if backward_files is not None:
            backward, known = read_flow(backward_files[t])
            _check_size(backward_files[t], backward.shape, frame_files[t], rgb.shape)
            # Unknown backward flow leaves the forward flow unchecked, not rejected.
            agree = flows_agree(flow, backward) | ~known
            if 1.0 - float(agree[keep].mean() if keep.any() else 1.0) > _MOST_HIDDEN:
                raise ConfigError(
                    f"--gt-flow: the backward flow {backward_files[t]} disagrees with the "
                    f"forward flow {flow_files[t]} on more than {_MOST_HIDDEN:.0%} of the "
                    "frame; is it the backward flow of the same frames, file t from frame "
                    "t + 1 to frame t?")
            keep = keep & agree
        small, scored = resize_flow(flow, keep, size)
        flows.append(small)
        visible.append(scored & lands_inside(small))
    return frames, flows, visible
