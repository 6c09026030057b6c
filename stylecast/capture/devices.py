"""Webcams and screen capture through FFmpeg's input devices (libavdevice).

Platform details live in tables, one row per OS: v4l2 on Linux, avfoundation on macOS,
dshow on Windows for cameras; x11grab, avfoundation or gdigrab for the screen.
"""

from __future__ import annotations

import errno
import glob
import os
import platform
import re
from dataclasses import dataclass
from fractions import Fraction

from stylecast.capture.plan import AtEnd, OpenPlan, SourceRequest
from stylecast.capture.pyav_source import PyAVSource
from stylecast.errors import CaptureError

DEVICE_TIMEOUT = (10.0, 5.0)  # (open, read) seconds; some cameras take seconds to start
LIST_HINT = "list devices with `stylecast doctor`"


@dataclass(frozen=True)
class _CameraPlatform:
    format: str
    url: str | None  # template for camera:N; None when the OS needs a device name


_CAMERAS: dict[str, _CameraPlatform] = {
    "Linux": _CameraPlatform("v4l2", "/dev/video{n}"),
    "Darwin": _CameraPlatform("avfoundation", "{n}:none"),  # :none = no audio device
    "Windows": _CameraPlatform("dshow", None),
}
_DEVICE_FORMATS = {"v4l2": "v4l2", "avfoundation": "avfoundation", "dshow": "dshow"}
# avfoundation's default rate (29.97) is one many Mac cameras refuse; 30 they all take.
_DEFAULT_OPTIONS: dict[str, dict[str, str]] = {"avfoundation": {"framerate": "30"}}

# OS -> (format, url) for ``screen``; Linux reads $DISPLAY at call time.
_SCREENS: dict[str, tuple[str, str]] = {
    "Darwin": ("avfoundation", "Capture screen 0:none"),
    "Windows": ("gdigrab", "desktop"),
}


class CameraSource(PyAVSource):
    """A webcam or capture card: ``/dev/videoN``, ``v4l2:``, ``avfoundation:``, ``dshow:``,
    ``camera`` or ``camera:N`` (the platform's default device N)."""

    @classmethod
    def from_spec(cls, kind: str, target: str, request: SourceRequest) -> CameraSource:
        """Build from a device spec; size/fps become the device's video_size/framerate."""
        fmt, url = _camera_url(kind, target)
        if fmt == "v4l2" and not os.path.exists(url):
            raise CaptureError(f"no camera at {url}: is it plugged in? {LIST_HINT}")
        options = dict(_DEFAULT_OPTIONS.get(fmt, {}))
        if request.size is not None:
            options["video_size"] = "{}x{}".format(*request.size)
        if request.fps is not None:
            options["framerate"] = str(request.fps)
        live = True if request.live is None else request.live
        return cls(OpenPlan(url, format=fmt, options=options, timeout=DEVICE_TIMEOUT),
                   description=f"camera {url}", hint=f"is it plugged in? {LIST_HINT}",
                   size=request.size, fps=request.fps, live=live, at_end=AtEnd.FAIL)

    def open_error(self, exc: BaseException) -> CaptureError:
        """Name the likely cause: missing device, busy device, or permissions."""
        url = self._plan.url
        code = getattr(exc, "errno", None)
        if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
            return CaptureError(f"no camera at {url}: is it plugged in? {LIST_HINT}")
        if code == errno.EBUSY:
            return CaptureError(f"camera {url} is busy: close other apps using it "
                                "(browser, OBS, video calls) and try again")
        if code in (errno.EACCES, errno.EPERM):
            return CaptureError(f"no permission to open camera {url}: add yourself to the "
                                "'video' group (Linux) or allow camera access (macOS)")
        return super().open_error(exc)


class ScreenSource(PyAVSource):
    """Screen capture: ``screen`` (this OS's default) or ``x11grab:DISPLAY`` (``:0.0``)."""

    @classmethod
    def from_spec(cls, kind: str, target: str, request: SourceRequest) -> ScreenSource:
        """Build from a screen spec; frames are scaled to ``size``, never cropped."""
        if kind == "x11grab" or platform.system() not in _SCREENS:
            fmt, url = "x11grab", target or os.environ.get("DISPLAY") or ":0.0"
        else:
            fmt, url = _SCREENS[platform.system()]
        # video_size would crop the grabbed region, so the size is applied by scaling.
        options = {"framerate": str(request.fps or Fraction(30)), "draw_mouse": "1"}
        live = True if request.live is None else request.live
        return cls(OpenPlan(url, format=fmt, options=options, timeout=DEVICE_TIMEOUT),
                   description=f"screen {url}",
                   hint="is a display server running there? for X11 set DISPLAY or use "
                        "--input x11grab:DISPLAY",
                   size=request.size, fps=request.fps, live=live, at_end=AtEnd.FAIL)


def _camera_url(kind: str, target: str) -> tuple[str, str]:
    """(device format, url) for a camera spec; raises CaptureError if unusable."""
    if kind in _DEVICE_FORMATS:
        if not target:
            raise CaptureError(f"{kind}: needs a device, e.g. {kind}:/dev/video0, "
                               "avfoundation:0 or dshow:video=NAME")
        return _DEVICE_FORMATS[kind], target
    system = platform.system()
    camera = _CAMERAS.get(system)
    if camera is None or camera.url is None:
        raise CaptureError(f"`camera` has no default device on {system}: name it, e.g. "
                           "--input 'dshow:video=Integrated Camera' (list names with "
                           "`ffmpeg -list_devices true -f dshow -i dummy`)")
    if not re.fullmatch(r"\d{0,3}", target):
        raise CaptureError(f"camera:{target} is not a device number: use camera or camera:N")
    return camera.format, camera.url.format(n=int(target or 0))


def list_capture_devices() -> list[str]:
    """Capture devices for ``stylecast doctor``: /dev/video* on Linux, else a hint line."""
    system = platform.system()
    if system == "Linux":
        def number(path: str) -> int:
            digits = re.sub(r"\D", "", path)
            return int(digits) if digits else -1
        return sorted(glob.glob("/dev/video*"), key=number)
    if system == "Darwin":
        return ["camera:N is avfoundation device N (list them with "
                "`ffmpeg -f avfoundation -list_devices true -i \"\"`)"]
    if system == "Windows":
        return ["name cameras as dshow:video=NAME (list them with "
                "`ffmpeg -list_devices true -f dshow -i dummy`)"]
    return [f"camera listing is not supported on {system}"]
