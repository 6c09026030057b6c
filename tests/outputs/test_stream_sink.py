"""StreamSink over TCP (NUT) and UDP (MPEG-TS) on 127.0.0.1, decoded back with PyAV."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from fractions import Fraction

import av
import numpy as np
import pytest

from stylecast.capture import open_source
from stylecast.errors import StreamError
from stylecast.outputs.stream import StreamSink
from stylecast.pipeline.frames import Frame
from tests.fakes import free_port

W, H = 64, 48
COLOUR = (30, 180, 220)
CLIENT_OPTIONS = {"probesize": "32", "analyzeduration": "0"}


def flat(index: int) -> Frame:
    data = np.empty((H, W, 3), np.uint8)
    data[:] = COLOUR
    return Frame(data=data, index=index)


class Feeder:
    """Sends frames into a sink every 10 ms from a thread, like the pipeline would."""

    def __init__(self, sink: StreamSink) -> None:
        self.sink = sink
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        index = 0
        while not self.stop.is_set():
            try:
                self.sink.send(flat(index))
            except StreamError as exc:
                self.errors.append(exc)
                return
            index += 1
            time.sleep(0.01)

    def __enter__(self) -> Feeder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)


def receive(url: str, fmt: str, count: int) -> list[av.VideoFrame]:
    """Connect or bind like ffplay/OBS would and decode ``count`` frames."""
    frames = []
    with av.open(url, format=fmt, container_options=CLIENT_OPTIONS,
                 timeout=(5, 5)) as container:
        for frame in container.decode(video=0):
            frames.append(frame)
            if len(frames) == count:
                break
    return frames


def assert_colour(frames: list[av.VideoFrame]) -> None:
    for frame in frames:
        assert (frame.width, frame.height) == (W, H)
        centre = frame.to_ndarray(format="rgb24")[H // 2, W // 2].astype(int)
        assert np.abs(centre - COLOUR).max() <= 8, centre


@pytest.fixture
def tcp_sink() -> Iterator[StreamSink]:
    sink = StreamSink("tcp://127.0.0.1:0")
    sink.open(width=W, height=H, fps=Fraction(30))
    yield sink
    sink.close()


def test_tcp_viewer_gets_frames_and_the_next_viewer_too(tcp_sink: StreamSink) -> None:
    assert tcp_sink.url.startswith("tcp://127.0.0.1:") and not tcp_sink.url.endswith(":0")
    with Feeder(tcp_sink) as feeder:
        first = receive(tcp_sink.url, "nut", 5)
        # The first viewer hung up; the sink must notice and serve the next one.
        second = receive(tcp_sink.url, "nut", 5)
    assert feeder.errors == []
    assert len(first) == 5 and len(second) == 5
    assert_colour(first + second)
    assert [f.pts for f in first] == sorted(f.pts for f in first)
    assert tcp_sink.clients_served == 2
    assert tcp_sink.frames_sent >= 10


def test_send_never_blocks_without_a_viewer(tcp_sink: StreamSink) -> None:
    start = time.monotonic()
    for i in range(50):
        tcp_sink.send(flat(i))
    assert time.monotonic() - start < 0.5
    assert tcp_sink.frames_sent == 0  # nobody watching: dropped, not queued up
    start = time.monotonic()
    tcp_sink.close()
    tcp_sink.close()
    assert time.monotonic() - start < 1.0
    # The port is free again.
    port = int(tcp_sink.url.rsplit(":", 1)[1])
    with socket.create_server(("127.0.0.1", port)):
        pass


def test_udp_stream_decodes_back() -> None:
    port = free_port(socket.SOCK_DGRAM)
    url = f"udp://127.0.0.1:{port}"
    got: list[av.VideoFrame] = []
    errors: list[BaseException] = []

    def viewer() -> None:
        try:
            got.extend(receive(url, "mpegts", 5))
        except av.error.FFmpegError as exc:
            errors.append(exc)

    thread = threading.Thread(target=viewer, daemon=True)
    thread.start()
    time.sleep(0.2)  # let the viewer bind the port first
    sink = StreamSink(url)
    sink.open(width=W, height=H, fps=Fraction(30))
    with Feeder(sink) as feeder:
        thread.join(10)
    sink.close()
    assert errors == [] and feeder.errors == []
    assert len(got) == 5
    assert_colour(got)


def test_port_in_use_is_a_stream_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        sink = StreamSink(f"tcp://127.0.0.1:{port}")
        with pytest.raises(StreamError, match=f"cannot listen on tcp://127.0.0.1:{port}.*"
                                              "another"):
            sink.open(width=W, height=H, fps=Fraction(30))
        sink.close()


@pytest.mark.parametrize("url", ["rtmp://127.0.0.1:1935/x", "tcp://127.0.0.1", "nonsense"])
def test_bad_url_is_a_stream_error(url: str) -> None:
    with pytest.raises(StreamError, match="tcp://HOST:PORT or udp://HOST:PORT"):
        StreamSink(url)


def test_send_before_open_and_wrong_size_are_stream_errors(tcp_sink: StreamSink) -> None:
    with pytest.raises(StreamError, match="not open"):
        StreamSink("udp://127.0.0.1:9").send(flat(0))
    small = Frame(data=np.zeros((24, 32, 3), np.uint8), index=0)
    with pytest.raises(StreamError, match="32x24"):
        tcp_sink.send(small)


def test_stylecast_can_watch_its_own_tcp_stream(tcp_sink: StreamSink) -> None:
    """End to end: StreamSink serves NUT, the tcp:// capture source decodes it."""
    with Feeder(tcp_sink) as feeder:
        with open_source(tcp_sink.url, size=(32, 24)) as source:
            got = []
            for frame in source.frames():
                got.append(frame)
                if len(got) == 4:
                    break
    assert feeder.errors == []
    assert [f.data.shape for f in got] == [(24, 32, 3)] * 4
    assert all(np.abs(f.data[12, 16].astype(int) - COLOUR).max() <= 8 for f in got)
