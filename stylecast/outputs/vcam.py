"""Virtual camera sink (pyvirtualcam): stylized video shows up as a webcam in Zoom, OBS...

Pixel formats are negotiated: RGB first (no conversion on our side), then the formats
other backends take, each converted from our RGB with one ``cv2.cvtColor`` call. An
explicit ``fmt`` is never silently replaced by another.
"""

from __future__ import annotations

import logging
import platform
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING

import cv2
import numpy as np

from stylecast.errors import SinkError
from stylecast.outputs.base import Sink
from stylecast.outputs.encoding import check_frame_size
from stylecast.pipeline.frames import Frame

if TYPE_CHECKING:
    import pyvirtualcam

log = logging.getLogger(__name__)

Converter = Callable[[np.ndarray], np.ndarray]


def _i420_to_nv12(i420: np.ndarray, width: int, height: int) -> np.ndarray:
    """I420 (Y, U, V planes) -> NV12 (Y plane, interleaved UV): same bytes, reordered."""
    flat = i420.reshape(-1)
    luma = width * height
    chroma = luma // 4
    out = np.empty_like(flat)
    out[:luma] = flat[:luma]
    out[luma::2] = flat[luma:luma + chroma]
    out[luma + 1::2] = flat[luma + chroma:]
    return out


def _cvt(code: int) -> Converter:
    return lambda rgb: cv2.cvtColor(rgb, code)


# name -> (pyvirtualcam.PixelFormat member, RGB (H, W, 3) uint8 -> that layout).
CONVERTERS: dict[str, tuple[str, Converter]] = {
    "rgb": ("RGB", lambda rgb: rgb),
    "bgr": ("BGR", _cvt(cv2.COLOR_RGB2BGR)),
    "i420": ("I420", _cvt(cv2.COLOR_RGB2YUV_I420)),
    "nv12": ("NV12", lambda rgb: _i420_to_nv12(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420),
                                               rgb.shape[1], rgb.shape[0])),
    "yuyv": ("YUYV", _cvt(cv2.COLOR_RGB2YUV_YUY2)),
    "uyvy": ("UYVY", _cvt(cv2.COLOR_RGB2YUV_UYVY)),
    "rgba": ("RGBA", _cvt(cv2.COLOR_RGB2RGBA)),
    "gray": ("GRAY", _cvt(cv2.COLOR_RGB2GRAY)),
}
AUTO_ORDER = ("rgb", "bgr", "i420", "nv12", "yuyv", "uyvy", "rgba")  # gray loses colour

_FIX: dict[str, str] = {
    "Linux": "load v4l2loopback: `sudo modprobe v4l2loopback devices=1 exclusive_caps=1` "
             "(package v4l2loopback-dkms)",
    "Windows": "install OBS Studio and start its virtual camera once (Start Virtual Camera)",
    "Darwin": "install OBS Studio and start its virtual camera once (Start Virtual Camera)",
}


class VirtualCameraSink(Sink):
    """Send frames to a virtual webcam through pyvirtualcam.

    Args:
        device: e.g. ``/dev/video10`` or ``OBS Virtual Camera``; None for the first free.
        backend: pyvirtualcam backend (``v4l2loopback``, ``obs``, ``unitycapture`` or one
            registered with ``pyvirtualcam.register_backend``); None tries each.
        fmt: ``auto`` (negotiate) or one of CONVERTERS (``rgb``, ``i420``, ...).

    Attributes:
        device, backend, pixel_format: what was actually opened (valid after ``open``).
    """

    name = "vcam"

    def __init__(self, device: str | None = None, backend: str | None = None,
                 fmt: str = "auto") -> None:
        fmt = fmt.lower()
        if fmt != "auto" and fmt not in CONVERTERS:
            raise SinkError(f"unknown virtual camera format {fmt!r}: use auto or one of "
                            f"{', '.join(CONVERTERS)}")
        self._want_device, self._want_backend, self._want_fmt = device, backend, fmt
        self.device: str | None = None
        self.backend: str | None = None
        self.pixel_format: str | None = None
        self._camera: pyvirtualcam.Camera | None = None
        self._send_lock = threading.Lock()  # close() must not release it mid-send
        self._convert: Converter = CONVERTERS["rgb"][1]
        self._size = (0, 0)
        self._interval = 1 / 30
        self._next_due = 0.0
        self._closed = threading.Event()  # also wakes a pacing wait in send()

    def open(self, *, width: int, height: int, fps: Fraction) -> None:
        """Open the camera in the first pixel format the backend accepts; SinkError."""
        # Native, platform-specific module: imported only when a virtual camera is wanted.
        from pyvirtualcam.camera import BACKENDS

        if self._camera is not None or self._closed.is_set():
            raise SinkError("virtual camera was already opened; use a new sink")
        fix = _FIX.get(platform.system(), "see pyvirtualcam's documentation")
        if self._want_backend is not None and self._want_backend not in BACKENDS:
            raise SinkError(f"virtual camera backend {self._want_backend!r} is not available "
                            f"here (have: {', '.join(BACKENDS) or 'none'}): {fix}")
        if not BACKENDS:
            raise SinkError(f"no virtual camera backend on {platform.system()}: {fix}")
        camera, name = self._open_first_format(width, height, fps, fix)
        self._camera, self.pixel_format = camera, name
        self._convert = CONVERTERS[name][1]
        self.device, self.backend = camera.device, camera.backend
        self._size = (width, height)
        self._interval = float(1 / Fraction(fps))

    def _open_first_format(self, width: int, height: int, fps: Fraction,
                           fix: str) -> tuple[pyvirtualcam.Camera, str]:
        """Try each wanted pixel format; log one warning per fallback, or raise all."""
        import pyvirtualcam

        names = AUTO_ORDER if self._want_fmt == "auto" else (self._want_fmt,)
        failures: dict[str, list[str]] = {}  # reason -> formats that failed with it
        for name in names:
            pixel_format = pyvirtualcam.PixelFormat[CONVERTERS[name][0]]
            try:
                camera = pyvirtualcam.Camera(width, height, float(fps), fmt=pixel_format,
                                             device=self._want_device,
                                             backend=self._want_backend)
            except (RuntimeError, ValueError) as exc:  # pyvirtualcam's "could not open"
                why = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
                failures.setdefault(why, []).append(name)
                continue
            for why, tried in failures.items():
                log.warning("virtual camera refused %s (%s); using %s", "/".join(tried),
                            why, name)
            return camera, name
        # Formats failing for the same reason (typically: no device) share one entry.
        reasons = " | ".join(f"{'/'.join(tried)}: {why}" for why, tried in failures.items())
        raise SinkError(f"no virtual camera could be opened ({reasons}): {fix}")

    def send(self, frame: Frame) -> None:
        """Convert and send one (H, W, 3) uint8 RGB frame, at most ``fps`` per second."""
        if self._camera is None:
            raise SinkError("virtual camera is not open: open() it first")
        check_frame_size(frame, self._size, "virtual camera")
        # Rate cap, like pyvirtualcam's sleep_until_next_frame but only when early, so a
        # late frame is never delayed further; close() interrupts the wait.
        delay = self._next_due - time.monotonic()
        if delay > 0 and self._closed.wait(delay):
            return
        self._next_due = max(self._next_due, time.monotonic()) + self._interval
        data = np.ascontiguousarray(self._convert(frame.data))
        with self._send_lock:
            if self._camera is None:  # closed while we waited
                return
            try:
                self._camera.send(data)
            except (RuntimeError, ValueError) as exc:
                raise SinkError(f"virtual camera {self.device} stopped taking frames "
                                f"({exc}): is another program holding it?") from exc

    def close(self) -> None:
        """Release the device; idempotent."""
        self._closed.set()
        with self._send_lock:
            camera, self._camera = self._camera, None
        if camera is not None:
            camera.close()
