"""VirtualCameraSink through fake pyvirtualcam backends (no v4l2loopback needed).

A fake backend goes through pyvirtualcam's own Camera (shape checks, fourcc encoding),
accepts only the pixel formats a test names, and records what Camera.send() gives it; the
test turns those bytes back into RGB with OpenCV and compares.
"""

from __future__ import annotations

import glob
import platform
import time
from collections.abc import Callable
from fractions import Fraction

import cv2
import numpy as np
import pytest

from stylecast.errors import SinkError
from stylecast.outputs.vcam import CONVERTERS, VirtualCameraSink
from stylecast.pipeline.frames import Frame
from tests.fakes import FakeCamera
from tests.fakes import fake_camera as fake_camera  # noqa: F401  (fixture)

W, H = 64, 48


def quadrants() -> np.ndarray:
    """Four flat colour blocks: survive 4:2:0 / 4:2:2 chroma subsampling at their centres."""
    rgb = np.empty((H, W, 3), np.uint8)
    rgb[: H // 2, : W // 2] = (220, 30, 40)
    rgb[: H // 2, W // 2:] = (20, 200, 60)
    rgb[H // 2:, : W // 2] = (40, 60, 210)
    rgb[H // 2:, W // 2:] = (240, 230, 20)
    return rgb


CENTRES = [(H // 4, W // 4), (H // 4, 3 * W // 4), (3 * H // 4, W // 4),
           (3 * H // 4, 3 * W // 4)]

# pyvirtualcam fourcc name -> bytes as sent -> RGB (H, W, 3)
DECODERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "RGB": lambda b: b.reshape(H, W, 3),
    "BGR": lambda b: cv2.cvtColor(b.reshape(H, W, 3), cv2.COLOR_BGR2RGB),
    "RGBA": lambda b: b.reshape(H, W, 4)[..., :3],
    "I420": lambda b: cv2.cvtColor(b.reshape(H * 3 // 2, W), cv2.COLOR_YUV2RGB_I420),
    "NV12": lambda b: cv2.cvtColor(b.reshape(H * 3 // 2, W), cv2.COLOR_YUV2RGB_NV12),
    "YUYV": lambda b: cv2.cvtColor(b.reshape(H, W, 2), cv2.COLOR_YUV2RGB_YUY2),
    "UYVY": lambda b: cv2.cvtColor(b.reshape(H, W, 2), cv2.COLOR_YUV2RGB_UYVY),
}


def send_one(sink: VirtualCameraSink, rgb: np.ndarray) -> None:
    sink.open(width=W, height=H, fps=Fraction(30))
    sink.send(Frame(data=rgb, index=0))
    sink.close()


@pytest.mark.parametrize("fmt", ["RGB", "BGR", "RGBA", "I420", "NV12", "YUYV", "UYVY"])
def test_auto_negotiates_the_only_format_and_sends_true_pixels(
        fake_camera: Callable[..., type[FakeCamera]], fmt: str) -> None:
    backend = fake_camera(fmt)
    sink = VirtualCameraSink()
    rgb = quadrants()
    send_one(sink, rgb)
    assert sink.pixel_format == fmt.lower() and sink.backend == "fake"
    assert sink.device == "fake0"
    (camera,) = backend.instances
    assert camera.fmt == fmt and len(camera.frames) == 1 and camera.closed == 1
    back = DECODERS[fmt](camera.frames[0])
    tolerance = 0 if fmt in ("RGB", "BGR", "RGBA") else 8  # YUV rounds
    for y, x in CENTRES:
        assert np.abs(back[y, x].astype(int) - rgb[y, x]).max() <= tolerance, (fmt, y, x)


def test_rgb_is_preferred_when_the_backend_takes_everything(
        fake_camera: Callable[..., type[FakeCamera]]) -> None:
    fake_camera(*DECODERS)
    sink = VirtualCameraSink(device="/dev/video7", backend="fake")
    sink.open(width=W, height=H, fps=Fraction(30))
    assert (sink.pixel_format, sink.device, sink.backend) == ("rgb", "/dev/video7", "fake")
    sink.close()


def test_explicit_format_never_falls_back(
        fake_camera: Callable[..., type[FakeCamera]]) -> None:
    fake_camera("I420")
    with pytest.raises(SinkError, match="rgb: 'fake' backend: format RGB not supported"):
        VirtualCameraSink(fmt="rgb").open(width=W, height=H, fps=Fraction(30))


def test_fallbacks_are_logged(fake_camera: Callable[..., type[FakeCamera]],
                              caplog: pytest.LogCaptureFixture) -> None:
    fake_camera("NV12")
    sink = VirtualCameraSink()
    sink.open(width=W, height=H, fps=Fraction(30))
    sink.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 3  # one per refused format: rgb, bgr, i420
    for fmt, message in zip(("rgb", "bgr", "i420"), warnings, strict=True):
        assert f"refused {fmt} " in message and message.endswith("using nv12")


def test_sending_is_capped_at_the_frame_rate(
        fake_camera: Callable[..., type[FakeCamera]]) -> None:
    backend = fake_camera("RGB")
    sink = VirtualCameraSink()
    sink.open(width=W, height=H, fps=Fraction(20))
    rgb = quadrants()
    start = time.monotonic()
    for i in range(6):
        sink.send(Frame(data=rgb, index=i))
    elapsed = time.monotonic() - start
    sink.close()
    sink.close()
    assert len(backend.instances[0].frames) == 6
    assert backend.instances[0].closed == 1  # pyvirtualcam's "exactly once"
    assert 0.2 < elapsed < 1.5  # 5 intervals of 50 ms


def test_wrong_size_and_closed_sink_are_sink_errors(
        fake_camera: Callable[..., type[FakeCamera]]) -> None:
    fake_camera("RGB")
    sink = VirtualCameraSink()
    sink.open(width=W, height=H, fps=Fraction(30))
    with pytest.raises(SinkError, match="32x24"):
        sink.send(Frame(data=np.zeros((24, 32, 3), np.uint8), index=0))
    sink.close()
    with pytest.raises(SinkError, match="not open"):
        sink.send(Frame(data=quadrants(), index=1))


def test_unknown_backend_and_format_are_sink_errors(
        fake_camera: Callable[..., type[FakeCamera]]) -> None:
    fake_camera("RGB")
    with pytest.raises(SinkError, match="backend 'obs' is not available here .have: fake"):
        VirtualCameraSink(backend="obs").open(width=W, height=H, fps=Fraction(30))
    with pytest.raises(SinkError, match="unknown virtual camera format 'xrgb'"):
        VirtualCameraSink(fmt="xrgb")
    assert set(CONVERTERS) >= {f.lower() for f in DECODERS}


@pytest.mark.skipif(platform.system() != "Linux" or bool(glob.glob("/dev/video*")),
                    reason="needs Linux without any /dev/video device")
def test_missing_v4l2loopback_names_the_modprobe_fix() -> None:
    with pytest.raises(SinkError) as info:
        VirtualCameraSink(backend="v4l2loopback").open(width=W, height=H, fps=Fraction(30))
    message = str(info.value)
    assert "No v4l2 loopback device" in message
    assert "sudo modprobe v4l2loopback devices=1 exclusive_caps=1" in message
    assert "\n" not in message
