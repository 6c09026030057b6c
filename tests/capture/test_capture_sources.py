"""Capture sources: patterns, files, image sequences, streams, devices, and shutdown.

All media is made here with PyAV in tmp_path; network tests use 127.0.0.1 only.
"""

from __future__ import annotations

import glob
import platform
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from stylecast.capture import list_capture_devices, open_source, resolve_spec
from stylecast.capture.base import Source
from stylecast.capture.testpattern import PATTERNS
from stylecast.errors import CaptureError
from stylecast.pipeline.frames import Frame
from tests.fakes import free_port

VFR_PTS = [500, 540, 580, 600, 640, 700, 740, 780, 800, 840, 880, 920]  # ms, starts at 0.5 s


def grey(i: int) -> int:
    """Flat grey level of synthetic frame ``i``: distinct for neighbours, mid-range."""
    return 30 + (i * 37) % 190


def write_clip(path: Path, pts: Sequence[int], *, size: tuple[int, int] = (64, 48),
               time_base: Fraction = Fraction(1, 1000)) -> Path:
    """Encode one flat grey frame per pts (frame i is grey(i)) with libx264."""
    width, height = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = time_base
        for i, p in enumerate(pts):
            frame = av.VideoFrame.from_ndarray(
                np.full((height, width, 3), grey(i), np.uint8), format="rgb24")
            frame.pts, frame.time_base = p, time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def take(source: Source, count: int) -> list[Frame]:
    """Open ``source``, take ``count`` frames (fewer if it ends), close it."""
    out: list[Frame] = []
    with source:
        for frame in source.frames():
            out.append(frame)
            if len(out) == count:
                break
    return out


def level(frame: Frame) -> float:
    return float(frame.data.mean())


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_clip(tmp_path / "clip.mkv", VFR_PTS)


# -- spec resolution ------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "kind"), [
    ("test", "test"), ("test:smpte", "test"), ("clip.mp4", "file"), ("file:test", "file"),
    ("frames/%05d.png", "images"), ("/dev/video2", "v4l2"), ("v4l2:/dev/video0", "v4l2"),
    ("camera", "camera"), ("camera:1", "camera"), ("avfoundation:0", "avfoundation"),
    ("dshow:video=Cam", "dshow"), ("udp://127.0.0.1:5000", "udp"), ("rtsp://h/s", "rtsp"),
    ("https://h/x.m3u8", "https"), ("screen", "screen"), ("x11grab::0.0", "x11grab"),
    (r"C:\videos\clip.mp4", "file"),
])
def test_resolve_spec_picks_the_kind(spec: str, kind: str) -> None:
    assert resolve_spec(spec)[0] == kind


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"size": (63, 48)}, "even"), ({"size": (8, 8)}, "outside"), ({"fps": 0}, "fps"),
    ({"fps": float("nan")}, "fps"),
])
def test_bad_size_or_fps_is_a_capture_error(kwargs: dict[str, object], needle: str) -> None:
    with pytest.raises(CaptureError, match=needle):
        open_source("test", **kwargs)  # type: ignore[arg-type]  # invalid options on purpose


# -- test patterns --------------------------------------------------------------------

def test_pattern_frames_have_the_size_and_advancing_pts() -> None:
    frames = take(open_source("test", size=(160, 120), live=False), 12)
    assert len(frames) == 12
    for i, frame in enumerate(frames):
        assert frame.data.shape == (120, 160, 3) and frame.data.dtype == np.uint8
        assert frame.data.flags["C_CONTIGUOUS"]
        assert (frame.index, frame.pts, frame.time_base) == (i, i, Fraction(1, 30))
    assert all(a.t_capture <= b.t_capture for a, b in zip(frames, frames[1:], strict=False))
    # The demo scene moves: the picture changes over the clip.
    assert np.abs(frames[0].data.astype(int) - frames[11].data.astype(int)).mean() > 1


def test_pattern_defaults_to_720p30() -> None:
    source = open_source("test", live=False)
    with source:
        assert source.size == (1280, 720) and source.fps == 30
        frame = next(iter(source.frames()))
    assert frame.data.shape == (720, 1280, 3)


def test_the_default_is_the_demo_scene_drawn_the_same_every_time() -> None:
    first = take(open_source("test", size=(320, 180), live=False), 40)
    again = take(open_source("test:scene", size=(320, 180), live=False), 40)
    assert all(np.array_equal(a.data, b.data) for a, b in zip(first, again, strict=True))
    # Texture and edges nearly everywhere (what paints like a picture): most 8x8 blocks
    # vary, where testsrc2's colour bars leave 4 in 5 flat.
    grey = first[0].data.astype(np.float32).mean(axis=2)[:176]
    blocks = grey.reshape(22, 8, 40, 8).std(axis=(1, 3))
    assert (blocks > 4).mean() > 0.5
    assert np.abs(first[0].data.astype(int) - first[39].data).mean() > 5  # it pans


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_every_named_pattern_opens(name: str) -> None:
    frames = take(open_source(f"test:{name}", size=(64, 48), live=False), 2)
    assert [f.data.shape for f in frames] == [(48, 64, 3)] * 2


def test_unknown_pattern_lists_the_known_ones() -> None:
    with pytest.raises(CaptureError,
                       match="unknown test pattern 'nope'.*test:scene.*test:testsrc2"):
        open_source("test:nope")


def test_live_pattern_is_paced_in_real_time() -> None:
    start = time.monotonic()
    frames = take(open_source("test", size=(64, 48), fps=30, live=True), 16)
    elapsed = time.monotonic() - start
    assert len(frames) == 16
    assert 0.4 < elapsed < 3.0  # 15 intervals of 1/30 s = 0.5 s; loose for busy machines
    released = [f.t_capture for f in frames]
    assert released[-1] - released[0] > 0.4


def test_close_from_another_thread_ends_frames_promptly() -> None:
    source = open_source("test", size=(64, 48), fps=0.5, live=True)  # 2 s between frames
    source.open()
    got: list[Frame] = []
    timer = threading.Timer(0.3, source.close)
    start = time.monotonic()
    timer.start()
    for frame in source.frames():
        got.append(frame)
    elapsed = time.monotonic() - start
    timer.join()
    assert len(got) == 1  # the first frame is released at once, the second never comes
    assert elapsed < 1.0
    source.close()  # idempotent


def test_lifecycle_is_guarded() -> None:
    source = open_source("test", size=(64, 48), live=False)
    with pytest.raises(CaptureError, match="open"):
        _ = source.size
    source.close()
    source.close()
    with pytest.raises(CaptureError, match="closed"):
        source.open()


# -- files ----------------------------------------------------------------------------

def test_file_keeps_every_frame_and_its_timestamps(clip: Path) -> None:
    source = open_source(str(clip))
    assert source.live is False
    frames = take(source, 100)
    assert len(frames) == len(VFR_PTS)
    assert [f.pts for f in frames] == VFR_PTS
    assert {f.time_base for f in frames} == {Fraction(1, 1000)}
    assert [f.index for f in frames] == list(range(len(VFR_PTS)))
    for i, frame in enumerate(frames):
        assert abs(level(frame) - grey(i)) < 4, i


def test_frames_after_the_end_returns_at_once(clip: Path) -> None:
    source = open_source(str(clip))
    with source:
        assert len(list(source.frames())) == len(VFR_PTS)
        start = time.monotonic()
        assert list(source.frames()) == []
        assert time.monotonic() - start < 0.5


def test_mp4_timestamps_survive_in_seconds(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "clip.mp4", VFR_PTS)
    frames = take(open_source(str(path)), 100)
    assert [round(f.seconds or -1, 3) for f in frames] == [p / 1000 for p in VFR_PTS]


def test_file_is_scaled_to_the_requested_size(clip: Path) -> None:
    frames = take(open_source(str(clip), size=(32, 24)), 3)
    assert [f.data.shape for f in frames] == [(24, 32, 3)] * 3
    assert abs(level(frames[2]) - grey(2)) < 4


def test_offline_file_never_drops_for_a_slow_consumer(clip: Path) -> None:
    source = open_source(str(clip), live=False)
    got = []
    with source:
        for frame in source.frames():
            time.sleep(0.02)
            got.append(frame.index)
    assert got == list(range(len(VFR_PTS)))


def test_loop_goes_past_the_end_with_increasing_pts(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "short.mkv", [0, 40, 80, 120, 160])
    frames = take(open_source(str(path), loop=True), 13)
    assert [f.index for f in frames] == list(range(13))
    pts = [f.pts for f in frames]
    assert pts == [40 * i for i in range(13)]  # continues where the clip ended
    assert abs(level(frames[5]) - grey(0)) < 4 and abs(level(frames[12]) - grey(2)) < 4


def test_live_file_is_paced_by_pts(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "c.mkv", [40 * i for i in range(9)])  # 8 intervals: 0.32 s
    start = time.monotonic()
    frames = take(open_source(str(path), live=True), 100)
    elapsed = time.monotonic() - start
    assert len(frames) == 9
    assert 0.25 < elapsed < 2.0


def test_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="no video file at .*nope.mp4"):
        open_source(str(tmp_path / "nope.mp4"))


def test_directory_suggests_a_pattern(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="is a directory.*%05d.png"):
        open_source(str(tmp_path))


def test_corrupt_file_is_a_capture_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
    source = open_source(str(path))
    with pytest.raises(CaptureError, match="cannot open file broken.mp4.*FFmpeg can read"):
        source.open()
    source.close()


# -- image sequences ------------------------------------------------------------------

def test_image_sequence_in_order_with_exact_pixels(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (24, 32, 3), np.uint8) for _ in range(4)]
    for n, rgb in enumerate(images, start=7):  # numbering need not start at 0
        cv2.imwrite(str(tmp_path / f"f_{n:04d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    source = open_source(str(tmp_path / "f_%04d.png"), fps=24)
    frames = take(source, 100)
    assert len(frames) == 4
    assert [f.pts for f in frames] == [0, 1, 2, 3]
    assert frames[0].time_base == Fraction(1, 24)
    for frame, rgb in zip(frames, images, strict=True):
        np.testing.assert_array_equal(frame.data, rgb)


def test_image_sequence_without_images_says_so(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="no images match"):
        open_source(str(tmp_path / "%05d.png"))


# -- devices --------------------------------------------------------------------------

@pytest.mark.skipif(platform.system() != "Linux", reason="v4l2 is Linux-only")
def test_missing_camera_names_the_fix() -> None:
    with pytest.raises(CaptureError, match=r"no camera at /dev/video97: is it plugged in\?"
                                           r".*stylecast doctor"):
        open_source("/dev/video97")


@pytest.mark.skipif(platform.system() != "Linux" or bool(glob.glob("/dev/video*")),
                    reason="needs Linux without cameras")
def test_default_camera_missing_names_the_device() -> None:
    with pytest.raises(CaptureError, match="no camera at /dev/video0"):
        open_source("camera")


@pytest.mark.skipif(platform.system() != "Linux", reason="v4l2 is Linux-only")
def test_a_device_that_is_not_a_camera_fails_with_a_capture_error() -> None:
    source = open_source("v4l2:/dev/null", size=(64, 48), fps=30)
    with pytest.raises(CaptureError, match="camera /dev/null"):
        source.open()
    source.close()


def test_camera_number_must_be_a_number() -> None:
    with pytest.raises(CaptureError, match="camera"):
        open_source("camera:front")


def test_unreachable_screen_is_a_capture_error() -> None:
    if not any(f.startswith("x11grab") for f in av.formats_available):
        pytest.skip("this FFmpeg build has no x11grab")
    source = open_source("x11grab::97.0", size=(64, 48))
    with pytest.raises(CaptureError, match="cannot open screen :97.0.*DISPLAY"):
        source.open()
    source.close()


def test_list_capture_devices_returns_strings() -> None:
    devices = list_capture_devices()
    assert all(isinstance(d, str) for d in devices)
    if platform.system() == "Linux":
        assert set(devices) == set(glob.glob("/dev/video*"))


# -- network --------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["udp://127.0.0.1", "udp:127.0.0.1:5000", "rtsp://",
                                 "tcp://127.0.0.1:99999"])
def test_bad_stream_url_is_a_capture_error(url: str) -> None:
    with pytest.raises(CaptureError, match="URL"):
        open_source(url)


def _udp_sender(url: str, stop: threading.Event, burst: int | None = None) -> None:
    """MPEG-TS H.264 of flat grey 200 frames at ~50 fps until ``stop`` (or ``burst``)."""
    with av.open(url + "?pkt_size=1316", "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=30,
                                options={"preset": "ultrafast", "tune": "zerolatency"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.gop_size = 5
        sent = 0
        while not stop.is_set() and (burst is None or sent < burst):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 200, np.uint8),
                                               format="rgb24")
            frame.pts = sent
            for packet in stream.encode(frame):
                out.mux(packet)
            sent += 1
            time.sleep(0.02)


@pytest.fixture
def udp_stream() -> Iterator[str]:
    url = f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}"
    stop = threading.Event()
    sender = threading.Thread(target=_udp_sender, args=(url, stop), daemon=True)
    sender.start()
    yield url
    stop.set()
    sender.join(5)


def test_udp_stream_frames_arrive_and_close_is_prompt(udp_stream: str) -> None:
    source = open_source(udp_stream, size=(32, 24))
    assert source.live
    source.open()
    got: list[Frame] = []
    for frame in source.frames():
        got.append(frame)
        if len(got) == 5:
            break
    assert all(f.data.shape == (24, 32, 3) for f in got)
    assert all(abs(level(f) - 200) < 6 for f in got)
    assert all(a.pts is not None and b.pts is not None and a.pts < b.pts
               for a, b in zip(got, got[1:], strict=False))
    start = time.monotonic()
    source.close()
    assert time.monotonic() - start < 1.5


def test_close_unblocks_a_reader_waiting_for_network_data() -> None:
    url = f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}"
    stop = threading.Event()
    sender = threading.Thread(target=_udp_sender, args=(url, stop), daemon=True)
    sender.start()
    source = open_source(url)
    source.open()
    closed_at: list[float] = []
    close_took: list[float] = []

    def close_later() -> None:
        time.sleep(0.3)  # the sender has stopped: the reader now waits in av_read_frame
        closed_at.append(time.monotonic())
        source.close()
        close_took.append(time.monotonic() - closed_at[0])

    closer = threading.Thread(target=close_later)
    count = 0
    for _ in source.frames():
        count += 1
        if count == 3:
            stop.set()
            sender.join(5)
            closer.start()
    returned_at = time.monotonic()
    closer.join()
    assert count >= 3
    assert returned_at - closed_at[0] < 0.5  # not at the 2 s read timeout
    assert close_took[0] < 1.3
    # The reader thread itself leaves at its read timeout and closes the socket.
    deadline = time.monotonic() + 4
    while any(t.name == f"capture stream {url}" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "reader thread never exited"
        time.sleep(0.05)


def test_stream_that_never_starts_is_a_capture_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("stylecast.capture.network.NETWORK_TIMEOUT", (0.4, 0.4))
    monkeypatch.setattr("stylecast.capture.pyav_source.FIRST_DATA_S", 1.0)
    source = open_source(f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}")
    start = time.monotonic()
    with pytest.raises(CaptureError, match="timed out waiting for data.*sender running"):
        source.open()
    assert time.monotonic() - start < 4
    source.close()


def test_refused_tcp_connection_fails_at_once() -> None:
    source = open_source(f"tcp://127.0.0.1:{free_port()}")  # a port nobody listens on
    start = time.monotonic()
    with pytest.raises(CaptureError, match="cannot open stream tcp://.*refused"):
        source.open()
    assert time.monotonic() - start < 2
    source.close()
