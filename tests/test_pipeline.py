"""The threaded pipeline with real capture, a real (tiny) network and real sinks."""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
import pytest

from stylecast.capture import open_source
from stylecast.engine.mixer import StyleMixer
from stylecast.engine.stylizer import Stylizer
from stylecast.outputs.base import Sink
from stylecast.pipeline.frames import Frame
from stylecast.pipeline.threads import Pipeline, State
from stylecast.runtime.pytorch import TorchRuntime
from tests.conftest import STYLE_NAMES, make_network


class SlowRuntime(TorchRuntime):
    """The real torch runtime, made deliberately slow (a stand-in for a weak CPU)."""

    delay = 0.1

    def infer(self, frame: np.ndarray, style: np.ndarray, strength: float,
              preserve: float) -> np.ndarray:
        time.sleep(self.delay)
        return super().infer(frame, style, strength, preserve)


class CollectSink(Sink):
    """Keeps every frame it is sent, with the time it arrived."""

    name = "collect"

    def __init__(self) -> None:
        self.frames: list[tuple[float, Frame]] = []
        self.closed = 0

    def open(self, *, width: int, height: int, fps: Fraction) -> None:
        self.size = (width, height)

    def send(self, frame: Frame) -> None:
        self.frames.append((time.monotonic(), frame))

    def close(self) -> None:
        self.closed += 1


class BrokenSink(CollectSink):
    name = "broken"

    def send(self, frame: Frame) -> None:
        raise OSError("disk full")


def make_stylizer(runtime_cls: type[TorchRuntime] = TorchRuntime) -> Stylizer:
    runtime = runtime_cls(network=make_network())
    runtime.open()
    # Per-frame stylization: these tests compare frames with runtime.infer exactly and slow
    # down infer itself (the temporal cache has its own tests in tests/temporal).
    return Stylizer(runtime, StyleMixer(list(STYLE_NAMES), {"alpha": 1.0}), temporal=False)


def test_live_drop_policy_keeps_latency_bounded_under_a_slow_stylizer() -> None:
    source = open_source("test", size=(64, 48), fps=30, live=True)
    sink = CollectSink()
    pipeline = Pipeline(source, make_stylizer(SlowRuntime), [sink])
    pipeline.start()
    time.sleep(2.0)
    pipeline.stop()
    latencies = [(t - f.t_capture) * 1000 for t, f in sink.frames]
    snap = pipeline.stats.snapshot()
    stylize_ms = snap["stage_ms"]["stylize"]
    # 30 fps in, at most 10 fps out: the excess is dropped, not queued.
    assert snap["drops"] >= len(sink.frames)
    assert len(sink.frames) >= 4
    # Bounded by the queue (2 frames) plus the frame in flight, whatever the load: an
    # unbounded queue would make this grow by 2/3 of a frame time per frame.
    bound = (2 + 2) * stylize_ms + 250
    assert max(latencies[2:]) < bound, (latencies, stylize_ms)
    assert np.median(latencies[-3:]) < np.median(latencies[2:5]) + stylize_ms
    assert pipeline.state is State.STOPPED and sink.closed == 1


def test_offline_policy_never_drops_even_when_slow() -> None:
    source = open_source("test", size=(64, 48), live=False)
    sink = CollectSink()
    class LessSlow(SlowRuntime):
        delay = 0.02

    runtime = make_stylizer(LessSlow)
    pipeline = Pipeline(source, runtime, [sink], max_frames=25)
    pipeline.start()
    assert pipeline.wait(20)
    indices = [f.index for _, f in sink.frames]
    assert indices == list(range(25))
    assert pipeline.stats.snapshot()["drops"] == 0


def test_frames_are_stylized_and_styles_switch_live() -> None:
    source = open_source("test", size=(64, 48), live=False)
    sink = CollectSink()
    stylizer = make_stylizer()
    pipeline = Pipeline(source, stylizer, [sink], max_frames=40)
    pipeline.start()
    while len(sink.frames) < 10:
        time.sleep(0.01)
    stylizer.mixer.set({"beta": 1.0})
    assert pipeline.wait(20)
    # The same offline pattern, read again, gives the raw frames to compare with.
    with open_source("test", size=(64, 48), live=False) as again:
        raw = [f.data for f, _ in zip(again.frames(), range(40), strict=False)]
    first, last = sink.frames[0][1], sink.frames[-1][1]
    eye = np.eye(3, dtype=np.float32)
    alpha0 = stylizer.runtime.infer(raw[0], eye[0], 1.0, 0.0)
    beta_last = stylizer.runtime.infer(raw[last.index], eye[1], 1.0, 0.0)
    alpha_last = stylizer.runtime.infer(raw[last.index], eye[0], 1.0, 0.0)
    assert np.abs(first.data.astype(int) - raw[0]).mean() > 10  # stylized, not passed through
    assert np.array_equal(first.data, alpha0)
    assert np.array_equal(last.data, beta_last)  # the switch landed
    assert np.abs(beta_last.astype(int) - alpha_last).mean() > 5


def test_a_failing_sink_is_disabled_and_the_others_keep_running() -> None:
    events: list[dict] = []
    good, bad = CollectSink(), BrokenSink()
    pipeline = Pipeline(open_source("test", size=(64, 48), live=False), make_stylizer(),
                        [bad, good], max_frames=15)
    pipeline.add_listener(events.append)
    pipeline.start()
    assert pipeline.wait(20)
    assert len(good.frames) == 15
    errors = [e for e in events if e["type"] == "error"]
    assert len(errors) == 1 and "broken" in errors[0]["error"] and "disk full" in errors[0]["error"]
    assert pipeline.active_sinks == ["collect"]
    assert bad.closed == 1 and good.closed == 1


def test_stop_is_prompt_and_idempotent() -> None:
    sink = CollectSink()
    pipeline = Pipeline(open_source("test", size=(64, 48), fps=30, live=True),
                        make_stylizer(), [sink])
    pipeline.start()
    time.sleep(0.3)
    started = time.monotonic()
    pipeline.stop()
    pipeline.stop()
    assert time.monotonic() - started < 2.0
    assert pipeline.state is State.STOPPED and sink.closed == 1


def test_pause_holds_the_last_stylized_picture() -> None:
    sink = CollectSink()
    pipeline = Pipeline(open_source("test", size=(64, 48), fps=30, live=True),
                        make_stylizer(), [sink])
    pipeline.start()
    time.sleep(0.4)
    pipeline.pause()
    time.sleep(0.2)
    mark = len(sink.frames)
    time.sleep(0.4)
    pipeline.stop()
    held = [f.data for _, f in sink.frames[mark:]]
    assert len(held) >= 3
    assert all(np.array_equal(held[0], h) for h in held)


@pytest.mark.parametrize("count", [1])
def test_no_output_at_all_is_an_error(count: int) -> None:
    from stylecast.errors import SinkError
    from stylecast.outputs.vcam import VirtualCameraSink

    pipeline = Pipeline(open_source("test", size=(64, 48), live=True), make_stylizer(),
                        [VirtualCameraSink(backend="no-such-backend")] * count)
    with pytest.raises(SinkError):
        pipeline.start()
    assert pipeline.state is State.STOPPED


def test_a_source_that_ends_while_threads_are_starting_still_finishes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A corrupt or one-frame input can end before start() has started every thread; the
    # finish must then wait for them rather than join a thread that is not started yet
    # (which raised in the finish thread and left wait() blocked).
    import threading

    real_start = threading.Thread.start

    def late_watch(self: threading.Thread) -> None:
        if self.name == "watch":
            time.sleep(0.5)  # the stylize thread ends and hands over to finish meanwhile
        real_start(self)

    monkeypatch.setattr(threading.Thread, "start", late_watch)
    source = open_source("test", size=(64, 48), fps=30, live=True)
    sink = CollectSink()
    pipeline = Pipeline(source, make_stylizer(), [sink], max_frames=1)
    pipeline.start()
    assert pipeline.wait(10)
    assert pipeline.state is State.STOPPED and sink.closed == 1
    assert len(sink.frames) <= 1
