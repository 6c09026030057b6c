"""Synthetic video with exactly known motion, for tests and ``stylecast bench --temporal``.

Each sequence is a list of (H, W, 3) uint8 RGB frames plus, for every frame after the
first, the exact backward flow (H, W, 2) float32 (frame t at x shows what frame t-1 showed
at x + flow) and a validity mask (H, W) bool that is False where the content is new
(entering at the border, or uncovered behind a moving object). Camera noise (a fresh
Gaussian per frame) is added on top, as a real sensor would; flows refer to the clean scene.

The scene is a generated texture, or a real photograph (``photo``): the motion is then
still exact, and the content is what a camera sees (the bench uses held-out photos).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

KINDS = ("pan", "zoom", "object")


@dataclass(frozen=True)
class Sequence:
    """Frames and exact motion; ``flows[i]`` and ``valid[i]`` relate frame i+1 to frame i."""

    kind: str
    frames: list[np.ndarray]
    flows: list[np.ndarray]
    valid: list[np.ndarray]


def texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth colour blobs, edges and fine detail: (H, W, 3) float32 in [0, 255]."""
    rng = np.random.default_rng(seed)
    layers = []
    for sigma in (24.0, 6.0, 1.5):
        noise = rng.normal(0, 1, (height, width, 3)).astype(np.float32)
        blurred = cv2.GaussianBlur(noise, (0, 0), sigma)
        layers.append(blurred / (blurred.std() + 1e-6))
    img = 128 + 45 * layers[0] + 25 * layers[1] + 10 * layers[2]
    for _ in range(12):  # hard edges, which stylization turns into strokes
        x, y = rng.integers(0, width), rng.integers(0, height)
        r = int(rng.integers(4, max(5, min(height, width) // 6)))
        cv2.circle(img, (int(x), int(y)), r, rng.uniform(0, 255, 3).tolist(), -1)
    return np.clip(img, 0, 255).astype(np.float32)


def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return xs, ys


def lands_inside(flow: np.ndarray) -> np.ndarray:
    """(H, W) bool: where x + flow(x) lies inside the frame (bilinear sampling is defined)."""
    xs, ys = _grid(*flow.shape[:2])
    tx, ty = xs + flow[..., 0], ys + flow[..., 1]
    height, width = flow.shape[:2]
    return (tx >= 0) & (tx <= width - 1) & (ty >= 0) & (ty <= height - 1)


#: A sequence's frames, exact backward flows and validity masks (see the module docstring).
_Motion = tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]


def _pan(canvas: np.ndarray, n: int, h: int, w: int, step: tuple[int, int]) -> _Motion:
    dx, dy = step
    frames, flows, valid = [], [], []
    for t in range(n):
        frames.append(canvas[t * dy:t * dy + h, t * dx:t * dx + w])
        if t:
            flows.append(np.full((h, w, 2), (dx, dy), np.float32))
            valid.append(lands_inside(flows[-1]))
    return frames, flows, valid


def _zoom(canvas: np.ndarray, n: int, h: int, w: int, rate: float) -> _Motion:
    xs, ys = _grid(h, w)
    cx, cy = canvas.shape[1] / 2, canvas.shape[0] / 2
    frames, flows, valid = [], [], []
    for t in range(n):
        z = rate ** t
        map_x = cx + (xs - w / 2) / z
        map_y = cy + (ys - h / 2) / z
        frames.append(cv2.remap(canvas, map_x, map_y, cv2.INTER_LINEAR))
        if t:
            ratio = 1.0 / rate  # position in frame t-1 of what frame t shows at x
            px = w / 2 + (xs - w / 2) * ratio
            py = h / 2 + (ys - h / 2) * ratio
            flows.append(np.stack((px - xs, py - ys), -1).astype(np.float32))
            valid.append(lands_inside(flows[-1]))
    return frames, flows, valid


def _object(canvas: np.ndarray, n: int, h: int, w: int, speed: int, seed: int,
            patch: np.ndarray | None = None) -> _Motion:
    background = canvas[:h, :w]
    side = max(8, min(h, w) // 3)
    if patch is None:
        patch = texture(side, side, seed + 1)[..., ::-1] * 0.6 + 60  # unlike the background
    else:
        patch = cv2.resize(patch, (side, side), interpolation=cv2.INTER_AREA)
    xs, ys = _grid(h, w)
    frames: list[np.ndarray] = []
    flows: list[np.ndarray] = []
    valid: list[np.ndarray] = []
    boxes: list[int] = []
    y0 = (h - side) // 2
    for t in range(n):
        x0 = (w // 8 + t * speed) % max(1, w - side)
        frame = background.copy()
        frame[y0:y0 + side, x0:x0 + side] = patch
        frames.append(frame)
        inside = (xs >= x0) & (xs < x0 + side) & (ys >= y0) & (ys < y0 + side)
        if t:
            px0 = boxes[-1]
            shift = float(px0 - x0)
            flow = np.zeros((h, w, 2), np.float32)
            flow[..., 0][inside] = shift
            was_inside = (xs >= px0) & (xs < px0 + side) & (ys >= y0) & (ys < y0 + side)
            # Background just uncovered, and object pixels whose source left the object.
            src_inside = (xs + shift >= px0) & (xs + shift < px0 + side)
            ok = np.where(inside, src_inside, ~was_inside)
            flows.append(flow)
            valid.append(ok)
        boxes.append(x0)
    return frames, flows, valid


def _cover(photo: np.ndarray, height: int, width: int) -> np.ndarray:
    """``photo`` scaled (keeping its aspect) and centre-cropped to exactly (height, width)."""
    scale = max(height / photo.shape[0], width / photo.shape[1])
    resized = cv2.resize(photo, (max(width, round(photo.shape[1] * scale)),
                                 max(height, round(photo.shape[0] * scale))),
                         interpolation=cv2.INTER_AREA)
    y0 = (resized.shape[0] - height) // 2
    x0 = (resized.shape[1] - width) // 2
    return resized[y0:y0 + height, x0:x0 + width].astype(np.float32)


def make_sequence(
    kind: str, length: int = 8, size: tuple[int, int] = (128, 96), noise: float = 4.0,
    seed: int = 0, photo: np.ndarray | None = None, object_photo: np.ndarray | None = None,
) -> Sequence:
    """A sequence of ``length`` frames of (width, height) ``size`` with exact motion.

    Args:
        kind: "pan" (3 px right, 1 px down per frame), "zoom" (3 % in per frame) or
            "object" (a textured square moving 4 px right over a still background).
        length: number of frames.
        size: (width, height).
        noise: standard deviation of the per-frame camera noise, in levels (0..255).
        seed: texture and noise seed.
        photo: (H, W, 3) uint8 RGB scene to move instead of the generated texture; scaled
            and cropped to cover the canvas.
        object_photo: (H, W, 3) uint8 RGB picture for the moving square of "object".

    Returns:
        The sequence (frames uint8, flows float32, validity masks bool).
    """
    w, h = size
    step = (3, 1)
    canvas_h, canvas_w = h + step[1] * length + 8, w + step[0] * length + 8
    canvas = (texture(canvas_h, canvas_w, seed) if photo is None
              else _cover(photo, canvas_h, canvas_w))
    if kind == "pan":
        clean, flows, valid = _pan(canvas, length, h, w, step)
    elif kind == "zoom":
        clean, flows, valid = _zoom(canvas, length, h, w, 1.03)
    elif kind == "object":
        patch = None if object_photo is None else object_photo.astype(np.float32)
        clean, flows, valid = _object(canvas, length, h, w, 4, seed, patch)
    else:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    rng = np.random.default_rng(seed + 1000)
    frames = [np.clip(f + rng.normal(0, noise, f.shape), 0, 255).astype(np.uint8)
              for f in clean]
    return Sequence(kind=kind, frames=frames, flows=flows, valid=valid)


def warp_image(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward-warp (H, W, C) ``image`` (frame t-1) to frame t by flow (H, W, 2): float32."""
    h, w = flow.shape[:2]
    xs, ys = _grid(h, w)
    return cv2.remap(image.astype(np.float32), xs + flow[..., 0], ys + flow[..., 1],
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def flows_agree(flow: np.ndarray, reverse: np.ndarray) -> np.ndarray:
    """(H, W) bool: where ``flow`` and the ``reverse`` flow at its target cancel out.

    The forward-backward check of Sundaram et al. (2010): a pixel that stays visible moves
    there and back, so flow(x) + reverse(x + flow(x)) is ~0; one that is hidden in the other
    frame does not. The bound grows with the motion, as sub-pixel errors do.
    """
    reverse_at = warp_image(reverse, flow)
    mismatch = ((flow + reverse_at) ** 2).sum(-1)
    bound = 0.01 * ((flow ** 2).sum(-1) + (reverse_at ** 2).sum(-1)) + 0.5
    return mismatch <= bound


def warping_error(outputs: list[np.ndarray], flows: list[np.ndarray],
                  valid: list[np.ndarray]) -> float:
    """Mean absolute difference (levels, 0..255) between each output and the previous output
    warped to it, over valid (non-disoccluded) pixels; averaged over frame pairs."""
    errors = []
    for t in range(1, len(outputs)):
        warped = warp_image(outputs[t - 1], flows[t - 1])
        diff = np.abs(outputs[t].astype(np.float32) - warped).mean(-1)
        mask = valid[t - 1]
        errors.append(float(diff[mask].mean()) if mask.any() else 0.0)
    return float(np.mean(errors)) if errors else 0.0
