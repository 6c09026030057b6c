"""Faults injected for real: a network sender that stops and restarts, a runtime that fails."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from stylecast.capture.base import Source
from stylecast.capture.reconnect import ReconnectingSource, open_live_source
from stylecast.errors import CaptureError, RuntimeFailed
from stylecast.pipeline.frames import Frame
from stylecast.pipeline.signal_loss import NoSignal, no_signal_card
from stylecast.pipeline.threads import Pipeline
from stylecast.runtime.pytorch import TorchRuntime
from tests.conftest import make_network
from tests.fakes import free_port
from tests.media import moving_frame
from tests.test_pipeline import CollectSink, make_stylizer


class UdpSender:
    """An MPEG-TS encoder on its own thread sending to 127.0.0.1:port at 30 fps."""

    def __init__(self, port: int) -> None:
        self.url = f"udp://127.0.0.1:{port}?pkt_size=1316"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> UdpSender:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5.0)

    def _run(self) -> None:
        with av.open(self.url, "w", format="mpegts") as container:
            send_at_30fps(container, self._stop)


def send_at_30fps(container: av.container.OutputContainer, stop: threading.Event) -> int:
    """Encode moving 96x64 frames into ``container`` in real time until ``stop``; returns
    how many were sent."""
    stream = container.add_stream("libx264", rate=30)
    stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
    stream.options = {"preset": "ultrafast", "tune": "zerolatency", "g": "10"}
    start = time.monotonic()
    i = 0
    while not stop.is_set():
        frame = av.VideoFrame.from_ndarray(moving_frame(i, 96, 64), format="rgb24")
        frame.pts = i
        frame.time_base = Fraction(1, 30)
        container.mux(stream.encode(frame))
        i += 1
        stop.wait(max(0.0, start + i / 30 - time.monotonic()))
    return i


class TcpSender:
    """An MPEG-TS encoder serving one TCP client at a time on 127.0.0.1:port at 30 fps.

    Like a hardware encoder or ``ffmpeg -listen 1``: stylecast connects to it. stop()
    closes the listening socket and the connection, so during an outage the receiver's
    connects are refused, which is a different failure from UDP's silence.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self._stop = threading.Event()
        self._server = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self._server.settimeout(0.2)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.clients = 0

    def start(self) -> TcpSender:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5.0)
        self._server.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            self.clients += 1
            with conn:
                try:
                    self._serve(conn)
                except OSError:  # the client went away: wait for the next one
                    continue

    def _serve(self, conn: socket.socket) -> None:
        with conn.makefile("wb", buffering=0) as wire, \
                av.open(wire, "w", format="mpegts") as container:
            send_at_30fps(container, self._stop)


def _start_sender(transport: str, port: int) -> UdpSender | TcpSender:
    return (UdpSender(port) if transport == "udp" else TcpSender(port)).start()


def _wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow  # ~20 s for the three: real outages, waited out in real time
@pytest.mark.parametrize(("transport", "inner_gives_up"), [
    ("udp", False), ("udp", True), ("tcp", False)],
    ids=["stream-reconnects", "source-reopened", "tcp-server-restarts"])
def test_network_outage_keeps_outputs_fed_and_recovers(
    monkeypatch: pytest.MonkeyPatch, transport: str, inner_gives_up: bool,
) -> None:
    if inner_gives_up:
        # The network source's own reconnect window (30 s) made short: it raises, and
        # ReconnectingSource must open a fresh one with backoff.
        monkeypatch.setattr("stylecast.capture.pyav_source.RECONNECT_WINDOW_S", 0.5)
    port = free_port(socket.SOCK_DGRAM) if transport == "udp" else free_port()
    sender = _start_sender(transport, port)
    source = open_live_source(f"{transport}://127.0.0.1:{port}", size=(64, 48), fps=30)
    assert isinstance(source, ReconnectingSource)
    sink = CollectSink()
    events: list[tuple[float, dict]] = []
    pipeline = Pipeline(source, make_stylizer(), [sink], live=True)
    pipeline.add_listener(lambda e: events.append((time.monotonic(), e)))
    try:
        pipeline.start()
        assert _wait_for(lambda: len(sink.frames) > 20, 15.0)
        sender.stop()
        outage_start = time.monotonic()
        assert _wait_for(lambda: pipeline.capture_lost, 5.0)
        # Past the 1 s hold, so the card shows; long enough, where the inner source gives
        # up (2 s read timeout + 3 s open timeout), for the wrapper's reopen to be needed.
        time.sleep(7.0 if inner_gives_up else 2.5)
        sender = _start_sender(transport, port)
        assert _wait_for(lambda: not pipeline.capture_lost, 20.0)
        restored_at = time.monotonic()
        time.sleep(1.0)
        if isinstance(sender, TcpSender):  # the restarted server was connected to afresh
            assert sender.clients >= 1
    finally:
        pipeline.stop()
        sender.stop()
    kinds = [e["type"] for _, e in events]
    assert "capture_lost" in kinds and "capture_restored" in kinds, kinds
    assert kinds.index("capture_lost") < kinds.index("capture_restored")
    lost_at = next(t for t, e in events if e["type"] == "capture_lost")
    fills = [(t, f) for t, f in sink.frames if f.fill]
    during = [t for t, _ in fills if lost_at <= t <= restored_at]
    # Fed at roughly the source's rate the whole outage (loaded machine: loose bound).
    assert len(during) >= 10 * (restored_at - lost_at), (len(during), restored_at - lost_at)
    gaps = np.diff([t for t, _ in sink.frames if outage_start <= t <= restored_at])
    assert gaps.max() < 1.0, gaps.max()
    # Held frames first, then the dark card.
    assert not np.array_equal(fills[0][1].data, no_signal_card(64, 48))
    assert any(f.data.mean() < 40 for _, f in fills)
    after = [f for t, f in sink.frames if t > restored_at and not f.fill]
    assert len(after) >= 5
    assert after[-1].data.mean() > 40  # stylized picture, not the card
    assert (source.reconnects >= 1) == inner_gives_up


class FlakySource(Source):
    """A source that yields a few frames, then fails; its factory fails some reopens."""

    def __init__(self, frames: int) -> None:
        self._frames = frames
        self.closed = threading.Event()

    def open(self) -> None:
        pass

    def frames(self) -> Iterator[Frame]:
        for i in range(self._frames):
            yield Frame(data=np.zeros((8, 8, 3), np.uint8), index=i)
        raise CaptureError("device went away")

    def close(self) -> None:
        self.closed.set()

    @property
    def size(self) -> tuple[int, int]:
        return (8, 8)

    @property
    def fps(self) -> Fraction:
        return Fraction(30)


def test_reconnecting_source_backs_off_and_continues_indices() -> None:
    calls: list[float] = []

    def factory() -> Source:
        calls.append(time.monotonic())
        if len(calls) in (2, 3):  # the device is still gone for two attempts
            raise CaptureError("no such device")
        return FlakySource(3)

    source = ReconnectingSource(factory, backoff=(0.05, 0.2))
    source.open()
    indices = []
    for frame in source.frames():
        indices.append(frame.index)
        if len(indices) == 9:
            break
    source.close()
    assert indices == list(range(9))
    assert source.reconnects == 2
    assert calls[2] - calls[1] >= 0.045 and calls[3] - calls[2] >= 0.09  # doubling


def test_first_open_failure_is_reported_not_retried() -> None:
    def factory() -> Source:
        raise CaptureError("cannot open stream udp://127.0.0.1:1")

    with pytest.raises(CaptureError, match="cannot open"):
        ReconnectingSource(factory).open()


class FailingRuntime(TorchRuntime):
    """The torch runtime, failing like an out-of-memory GPU after a few frames."""

    fail_after = 5

    def infer(self, frame: np.ndarray, style: np.ndarray, strength: float,
              preserve: float) -> np.ndarray:
        self.fail_after -= 1
        if self.fail_after < 0:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return super().infer(frame, style, strength, preserve)


def test_runtime_failure_without_fallback_stops_cleanly() -> None:
    from stylecast.capture import open_source

    sink = CollectSink()
    events: list[dict] = []
    pipeline = Pipeline(open_source("test", size=(64, 48), fps=30, live=True),
                        make_stylizer(FailingRuntime), [sink])
    pipeline.add_listener(events.append)
    pipeline.start()
    assert pipeline.wait(10.0), "the pipeline hung after the runtime failed"
    assert isinstance(pipeline.error, RuntimeFailed)
    assert "out of memory" in str(pipeline.error) and "\n" not in str(pipeline.error)
    assert any(e["type"] == "error" and "out of memory" in e["error"] for e in events)
    assert sink.closed == 1


def test_runtime_failure_switches_to_fallback_runtime() -> None:
    from stylecast.capture import open_source

    def fallback() -> TorchRuntime:
        runtime = TorchRuntime(network=make_network())
        runtime.open()
        return runtime

    sink = CollectSink()
    events: list[dict] = []
    pipeline = Pipeline(open_source("test", size=(64, 48), fps=30, live=True),
                        make_stylizer(FailingRuntime), [sink], fallback=fallback,
                        no_signal=NoSignal.CARD)
    pipeline.add_listener(events.append)
    pipeline.start()
    try:
        assert _wait_for(lambda: any(e.get("fallback") for e in events), 10.0), events
        switched = len(sink.frames)
        assert _wait_for(lambda: len(sink.frames) > switched + 10, 10.0)
    finally:
        pipeline.stop()
    assert pipeline.error is None
    assert type(pipeline.stylizer.runtime) is TorchRuntime


@pytest.fixture
def first_runtime_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first TorchRuntime opened fails like an out-of-memory GPU after 5 frames;
    later ones (a fallback) work."""
    first: list[TorchRuntime] = []  # the first runtime that stylized
    calls = [0]

    def failing(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: TorchRuntime, *args: Any, **kwargs: Any) -> Any:
            if not first:
                first.append(self)
            if self is first[0]:
                calls[0] += 1
                if calls[0] > 5:
                    raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return original(self, *args, **kwargs)
        return call

    # Plain or through the temporal cache: whichever path the stylizer takes fails.
    for name in ("infer", "infer_temporal"):
        monkeypatch.setattr(TorchRuntime, name, failing(getattr(TorchRuntime, name)))


RUN = ["run", "--input", "test", "--size", "96x64", "--no-control", "--status-every", "0",
       "--runtime", "torch", "--style", "alpha"]


@pytest.mark.usefixtures("styles_env", "first_runtime_fails")
def test_cli_runtime_failure_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from stylecast.cli import main

    started = time.monotonic()
    code = main([*RUN, "--record", str(tmp_path / "o.mp4"), "--duration", "30"])
    err = capsys.readouterr().err
    assert code == 1 and time.monotonic() - started < 20, err
    errors = [line for line in err.splitlines() if line.startswith("stylecast: error")]
    assert len(errors) == 1 and "out of memory" in errors[0], err
    assert "Traceback" not in err


@pytest.mark.usefixtures("styles_env", "first_runtime_fails")
def test_cli_fallback_runtime_keeps_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:
    from stylecast.cli import main
    from tests.media import read_clip

    out = tmp_path / "o.mp4"
    code = main([*RUN, "--record", str(out), "--duration", "3", "--fallback-runtime", "torch"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "out of memory" in caplog.text and "switched to torch" in caplog.text
    frames, _ = read_clip(out)
    assert len(frames) > 20  # well past the 5 frames before the failure


def test_filler_holds_then_shows_the_card() -> None:
    from stylecast.pipeline.signal_loss import Filler

    held = Frame(data=np.full((48, 64, 3), 200, np.uint8), index=3)
    card = no_signal_card(64, 48)
    auto = Filler(NoSignal.AUTO, (64, 48), hold_s=1.0)
    assert np.array_equal(auto.frame(held, 0.2).data, held.data)
    assert np.array_equal(auto.frame(held, 1.5).data, card)
    assert np.array_equal(auto.frame(None, 0.2).data, card)  # nothing to hold yet
    assert np.array_equal(Filler(NoSignal.HOLD, (64, 48)).frame(held, 60).data, held.data)
    assert np.array_equal(Filler(NoSignal.CARD, (64, 48)).frame(held, 0).data, card)
    assert auto.frame(held, 0).fill and not held.fill
    assert card.mean() < 40  # dark even where the text cannot be read


def test_no_signal_card_text_is_readable_at_output_sizes() -> None:
    # Readability is judged where a viewer sees it: at 64 px wide the 1-px antialiased
    # strokes of OpenCV 5 peak near 140, so a tiny test card proves nothing about text.
    for width, height in ((320, 180), (1280, 720)):
        card = no_signal_card(width, height)
        assert card.mean() < 40, (width, height)
        assert card.max() > 150, (width, height)
        rows = np.flatnonzero((card > 100).any(axis=(1, 2)))
        assert rows.size and abs((rows[0] + rows[-1]) / 2 - height / 2) < height / 8  # centred


class GatedSource(Source):
    """A 30 fps source that delivers only while ``gate`` is set (a cable to pull)."""

    live = True
    description = "gated test source"

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self._closed = threading.Event()

    def open(self) -> None:
        pass

    def frames(self) -> Iterator[Frame]:
        index = 0
        while not self._closed.wait(1 / 30):
            if self.gate.is_set():
                yield Frame(data=np.full((48, 64, 3), 120, np.uint8), index=index)
                index += 1

    def close(self) -> None:
        self._closed.set()

    @property
    def size(self) -> tuple[int, int]:
        return (64, 48)

    @property
    def fps(self) -> Fraction:
        return Fraction(30)


@pytest.mark.usefixtures("styles_env")
def test_capture_events_reach_control_clients() -> None:
    import json

    from stylecast.control.client import ControlClient
    from stylecast.control.controller import LiveController
    from stylecast.control.server import ControlServer
    from stylecast.styles import StyleCatalog

    source = GatedSource()
    stylizer = make_stylizer()
    pipeline = Pipeline(source, stylizer, [CollectSink()])
    pipeline.start()
    server = ControlServer(LiveController(pipeline, stylizer,
                                          StyleCatalog.discover().pack_of("alpha")), port=0)
    server.start()
    seen: list[str] = []
    try:
        with ControlClient(port=server.port) as client:
            source.gate.clear()
            deadline = time.monotonic() + 10
            while "capture_restored" not in seen and time.monotonic() < deadline:
                try:
                    kind = json.loads(client.ws.recv(timeout=0.2)).get("type")
                except TimeoutError:
                    continue
                seen.append(kind)
                if kind == "capture_lost":
                    source.gate.set()
    finally:
        server.stop()
        pipeline.stop()
    events = [k for k in seen if k.startswith("capture_")]
    assert events == ["capture_lost", "capture_restored"], seen
