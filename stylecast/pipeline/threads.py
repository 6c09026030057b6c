"""capture -> stylize -> outputs, on separate threads joined by bounded queues.

Live sources drop the oldest waiting frame at every queue (the newest frame is the one
worth showing, and latency must never grow); offline sources block instead, so a render
never drops a frame. Each sink runs on its own thread behind its own queue, so a slow or
blocking sink (a virtual camera pacing itself, a stream waiting for a client) cannot stall
the others; a sink that fails is reported once and disabled.

A live pipeline survives its source going quiet: a watch thread notices when no frame has
arrived for LOST_AFTER_S, emits ``capture_lost`` and feeds the sinks held or "no signal"
frames at the source's rate until frames flow again (``capture_restored``). A runtime that
raises while stylizing is replaced by the fallback runtime when one is configured, else the
pipeline stops with a RuntimeFailed error: it never hangs. While it runs, the C library's
free heap is handed back to the system every half minute (``stylecast.pipeline.memory``),
so that RSS stays flat through a long show.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from fractions import Fraction

from stylecast.capture.base import Source
from stylecast.engine.stylizer import Stylizer
from stylecast.errors import RuntimeFailed, SinkError, StylecastError, first_line
from stylecast.outputs.base import Sink
from stylecast.pipeline.frames import Frame
from stylecast.pipeline.memory import MemoryReleaser
from stylecast.pipeline.queue import BoundedQueue, Closed
from stylecast.pipeline.signal_loss import Filler, NoSignal
from stylecast.pipeline.stats import RollingStats
from stylecast.runtime.base import Runtime

log = logging.getLogger(__name__)

Listener = Callable[[dict], None]
LOST_AFTER_S = 0.5  # no frame for this long (or 3 frame times, if longer) = capture lost


class State(enum.Enum):
    CREATED = "created"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


_ALLOWED = {
    State.CREATED: {State.RUNNING, State.STOPPED},
    State.RUNNING: {State.STOPPING},
    State.STOPPING: {State.STOPPED},
    State.STOPPED: set(),
}


class SinkWorker:
    """One sink on its own thread behind its own bounded queue."""

    def __init__(self, sink: Sink, policy: str, stats: RollingStats,
                 on_failure: Callable[[Sink, BaseException], None]) -> None:
        self.sink = sink
        self.queue: BoundedQueue[Frame] = BoundedQueue(2, policy)
        self.stats = stats
        self.on_failure = on_failure
        self.failed = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"sink-{sink.name}", daemon=True)

    def _run(self) -> None:
        while (frame := self.queue.get()) is not None:
            if self.failed.is_set():
                continue
            try:
                self.sink.send(frame)
            except Exception as exc:  # thread boundary: a failing sink is disabled, not fatal
                self.failed.set()
                self.on_failure(self.sink, exc)
                continue
            if not frame.fill:  # a fill frame's latency means nothing
                self.stats.delivered(frame.t_capture, self.sink.name)

    def offer(self, frame: Frame) -> None:
        if self.failed.is_set():
            return
        try:
            self.queue.put(frame)
        except Closed:
            pass


class Pipeline:
    """Runs a Source through a Stylizer into Sinks.

    ``start()`` opens everything and returns; ``wait()`` blocks until the source ends or
    ``stop()`` is called; ``stop()`` is idempotent, prompt, and closes every sink so
    recordings are playable. ``live`` defaults to the source's own ``live`` attribute;
    ``max_frames`` ends the run after that many captured frames (endless sources).
    ``no_signal`` says what live outputs show while the source is silent (a NoSignal
    value); ``fallback`` opens the runtime to switch to if the runtime fails while
    stylizing (it is called at most once, on the stylize thread).
    """

    def __init__(
        self, source: Source, stylizer: Stylizer, sinks: list[Sink], *,
        live: bool | None = None, queue_size: int = 2, max_frames: int | None = None,
        no_signal: NoSignal | str = NoSignal.AUTO,
        fallback: Callable[[], Runtime] | None = None,
    ) -> None:
        self.source = source
        self.stylizer = stylizer
        self.sinks = list(sinks)
        self.live = source.live if live is None else live
        self.policy = "drop_oldest" if self.live else "block"
        self.stats = RollingStats()
        self._queue: BoundedQueue[Frame] = BoundedQueue(queue_size, self.policy)
        self._state = State.CREATED
        self._state_lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._workers: list[SinkWorker] = []
        self._threads: list[threading.Thread] = []
        self._done = threading.Event()
        # Set once start() has started every thread: a source that ends at once (a one-frame
        # or corrupt file) hands over to _finish while start() may still be starting them.
        self._started = threading.Event()
        self._paused = threading.Event()
        self._latest: Frame | None = None
        self._latest_lock = threading.Lock()
        self.error: BaseException | None = None
        self.frames_in = 0
        self.max_frames = max_frames
        self.no_signal = NoSignal(no_signal)
        self._fallback = fallback
        self._last_capture = time.monotonic()  # written by the capture thread only
        self._lost = threading.Event()
        self._releaser = MemoryReleaser()
        self.stylizer.stage_callback = self.stats.stage

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def state(self) -> State:
        with self._state_lock:
            return self._state

    def _transition(self, new: State) -> bool:
        with self._state_lock:
            if new not in _ALLOWED[self._state]:
                return False
            self._state = new
            return True

    def start(self) -> None:
        """Open the source and sinks, then start the threads."""
        if self.state is not State.CREATED:
            raise StylecastError(f"pipeline cannot start from state {self.state.value}")
        self.source.open()
        width, height = self.source.size
        fps = self.source.fps or Fraction(30)
        failures: list[tuple[Sink, StylecastError]] = []
        for sink in self.sinks:
            try:
                sink.open(width=width, height=height, fps=fps)
            except StylecastError as exc:
                failures.append((sink, exc))
                continue
            worker = SinkWorker(sink, self.policy, self.stats, self._sink_failed)
            self._workers.append(worker)
        if self.sinks and not self._workers:
            self.source.close()
            self._transition(State.STOPPED)
            self._done.set()
            raise SinkError("; ".join(str(exc) for _, exc in failures))
        for sink, error in failures:  # the others run on; say once which one is gone
            self._sink_failed(sink, error)
        self._transition(State.RUNNING)
        self._threads = [
            threading.Thread(target=self._capture_loop, name="capture", daemon=True),
            threading.Thread(target=self._stylize_loop, name="stylize", daemon=True),
        ]
        if self.live and self._workers:
            self._threads.append(threading.Thread(
                target=self._watch_loop, args=(fps, (width, height)), name="watch",
                daemon=True))
        self._last_capture = time.monotonic()
        for worker in self._workers:
            worker.thread.start()
        try:
            for thread in self._threads:
                thread.start()
            self._releaser.start()
        finally:
            self._started.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the pipeline has finished; True if it has."""
        return self._done.wait(timeout)

    def stop(self) -> None:
        """Stop promptly and close everything; safe to call more than once."""
        if self.state is State.CREATED:
            self._transition(State.STOPPED)
            self._done.set()
            return
        if not self._transition(State.STOPPING):
            self._done.wait(5.0)
            return
        self.source.close()
        self._queue.close()
        self._finish()

    def _finish(self) -> None:
        self._started.wait()
        self._releaser.stop()
        for thread in self._threads:
            if thread is not threading.current_thread() and thread.ident is not None:
                thread.join(timeout=5.0)
        for worker in self._workers:
            worker.queue.close()
        for worker in self._workers:
            worker.thread.join(timeout=5.0)
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as exc:  # closing must reach every sink whatever one does
                log.warning("closing output %s failed: %s", sink.name, exc)
        self._transition(State.STOPPED)
        self._done.set()

    # -- threads -----------------------------------------------------------------------
    def _capture_loop(self) -> None:
        try:
            for frame in self.source.frames():
                if self.state is not State.RUNNING:
                    break
                self.frames_in += 1
                self._last_capture = time.monotonic()
                if self._lost.is_set():
                    self._lost.clear()
                    log.info("capture restored: %s", self.source.description)
                    self._emit({"type": "capture_restored"})
                self._queue.put(frame)
                self.stats.set_drops("capture", self._queue.dropped)
                if self.max_frames is not None and self.frames_in >= self.max_frames:
                    break
        except Closed:
            pass
        except StylecastError as exc:
            self.error = exc
            self._emit({"type": "error", "error": str(exc)})
        finally:
            self._queue.close()

    def _stylize_loop(self) -> None:
        try:
            while (frame := self._queue.get()) is not None:
                try:
                    out = self._stylize(frame)
                except StylecastError:
                    raise
                except Exception as exc:  # thread boundary: any runtime failure (OOM ...)
                    self._runtime_failed(exc)
                    continue
                with self._latest_lock:
                    self._latest = out
                self.stats.produced()
                for worker in self._workers:
                    worker.offer(out)
                    self.stats.set_drops(f"sink-{worker.sink.name}", worker.queue.dropped)
        except StylecastError as exc:
            self.error = exc
            self._emit({"type": "error", "error": str(exc)})
        finally:
            # The source ended (or failed): finish from a helper thread so stop() callers
            # and this thread never wait on each other.
            if self._transition(State.STOPPING):
                self.source.close()
                threading.Thread(target=self._finish, name="finish", daemon=True).start()

    def _stylize(self, frame: Frame) -> Frame:
        if self._paused.is_set():
            with self._latest_lock:
                held = self._latest
            if held is not None:
                return frame.with_data(held.data)
        started = time.perf_counter()
        out = self.stylizer.process(frame)
        self.stats.stage("stylize", time.perf_counter() - started)
        return out.stylized_now()

    def _runtime_failed(self, exc: Exception) -> None:
        """Switch to the fallback runtime, or raise RuntimeFailed to stop the pipeline
        (``_stylize_loop`` then emits the error event and stops)."""
        name = self.stylizer.runtime.info.name
        reason = first_line(exc)[:200]
        what = f"runtime {name} failed while stylizing ({type(exc).__name__}: {reason})"
        fallback, self._fallback = self._fallback, None
        if fallback is None:
            raise RuntimeFailed(f"{what}; stopped. Try --fallback-runtime torch, a smaller "
                                "--process-size, or --runtime torch") from exc
        try:
            runtime = fallback()
        except StylecastError as open_exc:
            raise RuntimeFailed(f"{what}; the fallback runtime did not open: "
                                f"{open_exc}") from exc
        self.stylizer.replace_runtime(runtime)
        log.error("%s; switched to %s", what, runtime.info.name)
        self._emit({"type": "error", "error": what, "runtime": name,
                    "fallback": runtime.info.name})

    def _watch_loop(self, fps: Fraction, size: tuple[int, int]) -> None:
        """Feed the sinks fill frames at ``fps`` while the source is silent."""
        period = 1 / float(fps)
        lost_after = max(LOST_AFTER_S, 3 * period)
        filler = Filler(self.no_signal, size)
        lost_at = 0.0
        while self.state is State.RUNNING and not self._done.wait(period):
            silent = time.monotonic() - self._last_capture
            if silent < lost_after:
                continue
            if not self._lost.is_set():
                lost_at = time.monotonic()
                self._lost.set()
                log.warning("capture lost: no frame from %s for %.1f s; showing %s",
                            self.source.description, silent, self.no_signal.value)
                self._emit({"type": "capture_lost"})
            fill = filler.frame(self.latest(), time.monotonic() - lost_at)
            for worker in self._workers:
                worker.offer(fill)

    @property
    def capture_lost(self) -> bool:
        """True while the source is silent and the outputs show fill frames."""
        return self._lost.is_set()

    # -- sinks, listeners, controls ----------------------------------------------------
    def _sink_failed(self, sink: Sink, exc: BaseException) -> None:
        message = f"output {sink.name} failed and was disabled: {exc}"
        log.error(message)
        self._emit({"type": "error", "error": message, "output": sink.name})

    def add_listener(self, callback: Listener) -> None:
        self._listeners.append(callback)

    def _emit(self, event: dict) -> None:
        for callback in list(self._listeners):
            callback(event)

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def latest(self) -> Frame | None:
        """The most recent stylized frame, or None before the first."""
        with self._latest_lock:
            return self._latest

    def queue_lengths(self) -> dict[str, int]:
        """Frames waiting now: before the stylizer and before each sink (soak checks)."""
        lengths = {"stylize": len(self._queue)}
        for worker in self._workers:
            lengths[f"sink-{worker.sink.name}"] = len(worker.queue)
        return lengths

    @property
    def active_sinks(self) -> list[str]:
        return [w.sink.name for w in self._workers if not w.failed.is_set()]
