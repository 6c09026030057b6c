"""The built-in demo scene (``--input test``): a streamer in front of a painted landscape.

Made at run time with numpy and OpenCV, from a fixed seed (no files): a sky with clouds
and a sun, mountains with snow, a meadow with flowers, trees and a house with bricks, roof
tiles and windows, seen through a camera that pans slowly back and forth; in front, a
person who bobs, looks around and blinks, and a few birds crossing the sky. It has what a
style transfer network turns into a painting (texture, edges, a face and objects) and
motion for the temporal cache, where FFmpeg's test cards are flat colour bars.

The landscape is drawn once when the source opens (~0.1 s at 720p); a frame is a crop of
it plus the person and the birds (~3 ms at 720p on one core). Frame ``i`` shows the
scene at ``i / fps`` seconds, so the same index always gives the same picture.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from fractions import Fraction

import cv2
import numpy as np

from stylecast.capture.base import Source
from stylecast.capture.pacing import Pacer
from stylecast.errors import CaptureError
from stylecast.pipeline.frames import Frame

#: Seconds for one pan from the left end of the landscape to the right and back.
PAN_PERIOD_S = 24.0
#: The landscape is this many frame widths wide (the pan's range is the rest).
WORLD_WIDTHS = 1.6
_SEED = 21


def _noise(rng: np.random.Generator, height: int, width: int, cells: int,
           channels: int = 1) -> np.ndarray:
    """Smooth value noise: random values on a grid ``cells`` across, resized up; (H, W, C)
    float32, zero mean, unit scale."""
    gh = max(2, round(cells * height / max(width, 1)))
    grid = rng.standard_normal((gh, cells, channels)).astype(np.float32)
    out = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    return out.reshape(height, width, channels)


def _fractal(rng: np.random.Generator, height: int, width: int, cells: int,
             octaves: int = 4) -> np.ndarray:
    """Sum of ``octaves`` noise layers, each twice as fine and half as strong: (H, W)."""
    total = np.zeros((height, width), np.float32)
    for octave in range(octaves):
        total += _noise(rng, height, width, cells * 2**octave)[..., 0] / 2**octave
    return total


def _sky(rng: np.random.Generator, h: int, w: int, horizon: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, horizon, dtype=np.float32)[:, None, None]
    top, low = np.array([38, 78, 168], np.float32), np.array([236, 196, 160], np.float32)
    sky = np.empty((h, w, 3), np.float32)
    sky[:horizon] = top + (low - top) * t**1.4
    sky[horizon:] = low
    clouds = _fractal(rng, h, w, 6, octaves=5)
    shape = np.clip((clouds - 0.35) * 1.6, 0.0, 1.0)[..., None]
    shape *= np.clip(1.2 - np.arange(h, dtype=np.float32) / horizon, 0.0, 1.0)[:, None, None]
    shade = np.clip(0.5 + 0.5 * _noise(rng, h, w, 40)[..., :1], 0.75, 1.0)
    return sky * (1 - shape) + (np.array([250, 246, 240], np.float32) * shade) * shape


def _sun(img: np.ndarray, cx: int, cy: int, radius: int) -> None:
    h, w = img.shape[:2]
    yy, xx = np.ogrid[:h, :w]
    d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2, dtype=np.float32)
    glow = np.exp(-((d / (radius * 3.0)) ** 2))[..., None]
    img += glow * np.array([60, 40, 0], np.float32)
    cv2.circle(img, (cx, cy), radius, (255, 236, 150), -1, cv2.LINE_AA)


def _ridge(rng: np.random.Generator, width: int, base: float, amplitude: float,
           cells: int) -> np.ndarray:
    line = _fractal(rng, 1, width, cells, octaves=5)[0]
    return base - amplitude * line


def _mountains(rng: np.random.Generator, img: np.ndarray, horizon: int) -> None:
    h, w = img.shape[:2]
    rows = np.arange(h, dtype=np.float32)[:, None]
    layers = ((0.30, 0.13, 5, (118, 128, 168), True), (0.44, 0.09, 9, (74, 104, 92), False))
    for top, amp, cells, colour, snow in layers:
        ridge = _ridge(rng, w, horizon - (horizon - top * h) * 0.2, amp * h, cells)[None, :]
        ridge = np.minimum(ridge, horizon)
        inside = rows >= ridge
        depth = np.clip((rows - ridge) / (0.25 * h), 0.0, 1.0)
        tone = np.array(colour, np.float32) * (1.15 - 0.35 * depth)[..., None]
        tone *= (1 + 0.12 * _fractal(rng, h, w, 60, octaves=3))[..., None]
        if snow:
            peak = ridge.min()
            cap = inside & (rows < peak + (ridge - peak) * 0.5 + 0.035 * h)
            tone[cap] = tone[cap] * 0.3 + np.array([240, 242, 250], np.float32) * 0.7
        img[inside] = tone[inside]


def _meadow(rng: np.random.Generator, img: np.ndarray, top: int) -> None:
    h, w = img.shape[:2]
    band = h - top
    t = np.linspace(0.0, 1.0, band, dtype=np.float32)[:, None, None]
    ground = np.array([118, 160, 62], np.float32) * (1 - 0.45 * t)
    # Grass: noise fine across and coarse down, i.e. short vertical strokes.
    grid = rng.standard_normal((max(2, band // 12), max(2, w // 3))).astype(np.float32)
    blades = cv2.resize(grid, (w, band), interpolation=cv2.INTER_LINEAR)[..., None]
    img[top:] = ground * (1 + 0.18 * blades)
    path = (0.55 + 0.18 * np.sin(np.linspace(0, 3 * math.pi, w)))  # a dirt road
    for x in range(0, w, 2):
        y0 = top + int(path[x] * band * 0.5)
        cv2.line(img, (x, y0), (x, min(h - 1, y0 + int(band * 0.08))), (150, 120, 80), 2)
    colours = ((235, 70, 60), (250, 220, 70), (240, 240, 245), (170, 90, 200))
    for _ in range(w // 3):
        x, y = int(rng.integers(0, w)), int(top + band * rng.uniform(0.1, 1.0) ** 0.7)
        r = max(1, int(h * rng.uniform(0.003, 0.007)))
        cv2.circle(img, (x, y), r, colours[int(rng.integers(0, 4))], -1, cv2.LINE_AA)


def _tree(rng: np.random.Generator, img: np.ndarray, x: int, ground: int, size: int) -> None:
    trunk = (x - size // 10, ground - size, x + size // 10, ground)
    cv2.rectangle(img, trunk[:2], trunk[2:], (92, 62, 40), -1)
    for _ in range(6):
        cx = x + int(rng.integers(-size // 2, size // 2 + 1))
        cy = ground - size - int(rng.integers(0, size // 2 + 1))
        shade = rng.uniform(0.7, 1.1)
        cv2.circle(img, (cx, cy), int(size * rng.uniform(0.35, 0.55)),
                   (46 * shade, 102 * shade, 44 * shade), -1, cv2.LINE_AA)
    for _ in range(size * 2):  # leaves
        cx = x + int(rng.normal(0, size * 0.45))
        cy = ground - size - int(rng.normal(size * 0.2, size * 0.3))
        tone = rng.uniform(0.6, 1.5)
        cv2.circle(img, (cx, cy), max(1, size // 25), (40 * tone, 110 * tone, 40 * tone), -1)


def _house(img: np.ndarray, x: int, ground: int, size: int) -> None:
    w, h = int(size * 1.3), size
    left, top = x - w // 2, ground - h
    cv2.rectangle(img, (left, top), (left + w, ground), (226, 206, 170), -1)
    brick = max(3, size // 12)
    for row, y in enumerate(range(top, ground, brick)):  # brick courses
        cv2.line(img, (left, y), (left + w, y), (180, 150, 120), 1)
        for bx in range(left + (brick if row % 2 else 0), left + w, 2 * brick):
            cv2.line(img, (bx, y), (bx, min(ground, y + brick)), (180, 150, 120), 1)
    roof = np.array([(left - size // 8, top), (x, top - size * 2 // 3),
                     (left + w + size // 8, top)], np.int32)
    cv2.fillPoly(img, [roof], (176, 52, 40), cv2.LINE_AA)
    for i in range(1, 6):  # tiles
        y = top - (size * 2 // 3) * i // 6
        half = (w // 2 + size // 8) * (6 - i) // 6
        cv2.line(img, (x - half, y), (x + half, y), (130, 36, 30), 1, cv2.LINE_AA)
    door = (x - size // 8, ground - size // 2, x + size // 8, ground)
    cv2.rectangle(img, door[:2], door[2:], (96, 58, 36), -1)
    for wx in (left + w // 5, left + w * 4 // 5 - size // 4):
        cv2.rectangle(img, (wx, top + size // 5), (wx + size // 4, top + size // 2),
                      (250, 250, 250), -1)
        cv2.rectangle(img, (wx + 2, top + size // 5 + 2),
                      (wx + size // 4 - 2, top + size // 2 - 2), (90, 130, 170), -1)
        cv2.line(img, (wx + size // 8, top + size // 5), (wx + size // 8, top + size // 2),
                 (250, 250, 250), 2)
        cv2.line(img, (wx, top + size * 7 // 20), (wx + size // 4, top + size * 7 // 20),
                 (250, 250, 250), 2)


def landscape(width: int, height: int, seed: int = _SEED) -> np.ndarray:
    """The scene's background, ``width`` wide: (height, width, 3) uint8 RGB."""
    rng = np.random.default_rng(seed)
    horizon = int(height * 0.62)
    img = _sky(rng, height, width, horizon)
    _sun(img, int(width * 0.72), int(height * 0.18), max(3, height // 14))
    _mountains(rng, img, horizon)
    _meadow(rng, img, horizon)
    for i, fx in enumerate((0.06, 0.2, 0.33, 0.58, 0.7, 0.88, 0.97)):
        ground = int(height * (0.66 + 0.05 * (i % 3)))
        _tree(rng, img, int(width * fx), ground, max(6, int(height * (0.1 + 0.03 * (i % 2)))))
    _house(img, int(width * 0.3), int(height * 0.72), max(8, height // 5))
    return np.clip(img, 0, 255).astype(np.uint8)


def _person_sprite(height: int) -> tuple[np.ndarray, np.ndarray]:
    """Head, hair, neck and shoulders, shaded: (RGB uint8, mask bool) of the sprite."""
    sh, sw = int(height * 0.62), int(height * 0.46)
    rgb = np.zeros((sh, sw, 3), np.float32)
    cx, head_y, rx, ry = sw // 2, int(sh * 0.36), int(sw * 0.27), int(sh * 0.25)
    shirt = np.array([200, 64, 56], np.float32)
    body = np.zeros((sh, sw), np.uint8)
    cv2.ellipse(body, (cx, sh + int(sh * 0.06)), (int(sw * 0.5), int(sh * 0.3)), 0, 180, 360,
                255, -1, cv2.LINE_AA)
    rgb[body > 0] = shirt
    for k in range(1, 7):  # stripes on the shirt
        y = sh - int(sh * 0.035 * k)
        cv2.line(rgb, (0, y), (sw, y), (236, 220, 200), max(1, sh // 90), cv2.LINE_AA)
    rgb[body == 0] = 0
    cv2.rectangle(rgb, (cx - rx // 2, head_y + ry // 2), (cx + rx // 2, int(sh * 0.8)),
                  (206, 150, 118), -1)
    cv2.ellipse(rgb, (cx, int(sh * 0.79)), (rx // 2, sh // 30), 0, 0, 180, (206, 150, 118), -1,
                cv2.LINE_AA)  # collar line
    cv2.ellipse(rgb, (cx, head_y - ry // 6), (int(rx * 1.15), int(ry * 1.02)), 0, 0, 360,
                (70, 44, 30), -1, cv2.LINE_AA)  # hair behind the face
    for side in (-1, 1):  # ears
        cv2.ellipse(rgb, (cx + side * rx, head_y + ry // 8), (rx // 6, ry // 5), 0, 0, 360,
                    (214, 156, 124), -1, cv2.LINE_AA)
    cv2.ellipse(rgb, (cx, head_y + ry // 10), (rx, ry), 0, 0, 360, (232, 180, 146), -1,
                cv2.LINE_AA)
    cv2.ellipse(rgb, (cx, head_y - ry // 2), (int(rx * 1.02), ry // 2), 0, 180, 360,
                (70, 44, 30), -1, cv2.LINE_AA)  # fringe
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    light = 1.08 - 0.35 * np.clip(((xx - cx + rx * 0.4) / (2.2 * rx)) ** 2
                                  + ((yy - head_y + ry * 0.4) / (2.4 * ry)) ** 2, 0.0, 1.0)
    rgb *= light[..., None]
    return np.clip(rgb, 0, 255).astype(np.uint8), rgb.sum(axis=2) > 0


class _Person:
    """The person in front: a shaded sprite, then eyes, brows, nose and mouth per frame."""

    def __init__(self, height: int) -> None:
        self.rgb, self.mask = _person_sprite(height)
        self.height = height

    def draw(self, frame: np.ndarray, t: float) -> None:
        fh, fw = frame.shape[:2]
        sh, sw = self.mask.shape
        x0 = int(fw * 0.70) - sw // 2 + int(fh * 0.02 * math.sin(t * 0.9))
        y0 = fh - sh + int(fh * 0.012 * (1 + math.sin(t * 2.1)))
        x1, y1 = min(fw, x0 + sw), min(fh, y0 + sh)
        if x1 <= max(0, x0) or y1 <= max(0, y0):
            return
        sx, sy = max(0, -x0), max(0, -y0)
        roi = frame[max(0, y0):y1, max(0, x0):x1]
        rows, cols = slice(sy, sy + roi.shape[0]), slice(sx, sx + roi.shape[1])
        # A hard edge (no alpha blend): 4x cheaper at 1080p, and painting hides it anyway.
        np.copyto(roi, self.rgb[rows, cols], where=self.mask[rows, cols, None])
        self._face(frame, x0 + sw // 2, y0 + int(sh * 0.36), int(sw * 0.27), int(sh * 0.25), t)

    def _face(self, img: np.ndarray, cx: int, cy: int, rx: int, ry: int, t: float) -> None:
        aa = cv2.LINE_AA
        look = int(rx * 0.12 * math.sin(t * 0.7))
        blink = (t % 4.0) > 3.85
        thick = max(1, ry // 18)
        for side in (-1, 1):
            ex, ey = cx + side * int(rx * 0.42), cy - ry // 10
            cv2.line(img, (ex - rx // 5, ey - ry // 4 + side), (ex + rx // 5, ey - ry // 4 - side),
                     (60, 38, 26), thick * 2, aa)
            if blink:
                cv2.line(img, (ex - rx // 5, ey), (ex + rx // 5, ey), (90, 50, 40), thick, aa)
                continue
            cv2.ellipse(img, (ex, ey), (rx // 5, ry // 9), 0, 0, 360, (250, 250, 248), -1, aa)
            cv2.circle(img, (ex + look, ey), max(1, ry // 10), (70, 110, 160), -1, aa)
            cv2.circle(img, (ex + look, ey), max(1, ry // 22), (20, 20, 24), -1, aa)
            cv2.circle(img, (ex + look - ry // 30, ey - ry // 30), max(1, ry // 60),
                       (255, 255, 255), -1, aa)
        cv2.line(img, (cx, cy), (cx - rx // 10, cy + ry // 4), (170, 110, 90), thick, aa)
        cv2.line(img, (cx - rx // 10, cy + ry // 4), (cx + rx // 12, cy + ry // 4 + 2),
                 (170, 110, 90), thick, aa)
        open_ = int(ry * 0.08 * max(0.0, math.sin(t * 1.3)))
        cv2.ellipse(img, (cx, cy + ry // 2), (rx // 3, ry // 8 + open_), 0, 10, 170,
                    (150, 50, 50), thick * 2, aa)
        for side in (-1, 1):  # cheeks
            cv2.circle(img, (cx + side * int(rx * 0.55), cy + ry // 4), rx // 7,
                       (236, 160, 140), -1, aa)


def _birds(img: np.ndarray, t: float) -> None:
    h, w = img.shape[:2]
    span = max(3, h // 60)
    for i in range(5):
        x = int(((t * 0.06 + i * 0.09) % 1.3 - 0.15) * w)
        y = int(h * (0.16 + 0.03 * i) + h * 0.01 * math.sin(t * 2 + i))
        flap = int(span * 0.6 * math.sin(t * 9 + i))
        pts = np.array([(x - span, y - flap), (x, y), (x + span, y - flap)], np.int32)
        cv2.polylines(img, [pts], False, (30, 30, 40), max(1, h // 300), cv2.LINE_AA)


def scene_frame(world: np.ndarray, person: _Person, width: int, t: float) -> np.ndarray:
    """The frame at ``t`` seconds: a pan over ``world``, then the birds and the person."""
    span = world.shape[1] - width
    # From the middle, at full pan speed (~100 px/s at 720p), so motion starts at once.
    x = int(round(span * 0.5 * (1 + math.sin(2 * math.pi * t / PAN_PERIOD_S))))
    frame = np.ascontiguousarray(world[:, x:x + width])
    _birds(frame, t)
    person.draw(frame, t)
    return frame


class SceneSource(Source):
    """The demo scene as a source: ``size`` frames at ``fps``, paced in real time when live.

    Args:
        size: (width, height), even.
        fps: frames per second.
        live: pace frames in real time (else as fast as they are taken).
    """

    def __init__(self, *, size: tuple[int, int], fps: Fraction, live: bool) -> None:
        self._size = size
        self._fps = Fraction(fps)
        self.live = live
        self.description = f"test pattern scene {size[0]}x{size[1]}@{float(fps):g}"
        self._stop = threading.Event()
        self._state = "new"
        self._lock = threading.Lock()
        self._world: np.ndarray | None = None
        self._person: _Person | None = None

    @property
    def size(self) -> tuple[int, int]:
        if self._state != "open":
            raise CaptureError(f"{self.description}: size is unknown until open() succeeds; "
                               "call open() first")
        return self._size

    @property
    def fps(self) -> Fraction:
        if self._state != "open":
            raise CaptureError(f"{self.description}: frame rate is unknown until open() "
                               "succeeds; call open() first")
        return self._fps

    def open(self) -> None:
        """Draw the landscape (once)."""
        with self._lock:
            if self._state == "closed":
                raise CaptureError(f"{self.description} was closed; open a new source instead")
            if self._state == "open":
                return
            width, height = self._size
            self._world = landscape(int(width * WORLD_WIDTHS) // 2 * 2, height)
            self._person = _Person(height)
            self._state = "open"

    def frames(self) -> Iterator[Frame]:
        """Frames until ``close()``; frame i shows the scene at i / fps seconds."""
        if self._state == "new":
            self.open()
        if self._world is None or self._person is None:
            return
        time_base = 1 / self._fps
        pacer = Pacer(self._stop, time_base) if self.live else None
        index = 0
        while not self._stop.is_set():
            t = float(index * time_base)
            if pacer is not None and not pacer.wait_until(t):
                return
            data = scene_frame(self._world, self._person, self._size[0], t)
            if self._stop.is_set():
                return
            yield Frame(data=data, index=index, pts=index, time_base=time_base,
                        t_capture=time.monotonic())
            index += 1

    def close(self) -> None:
        """Stop ``frames()``; idempotent, from any thread."""
        with self._lock:
            self._state = "closed"
        self._stop.set()
