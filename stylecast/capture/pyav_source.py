"""The decode loop every PyAV-backed source shares (test patterns, files, devices, URLs).

One reader thread per source owns the PyAV container from ``av.open`` to ``close``: it
decodes, scales with swscale (``VideoFrame.reformat``) and hands RGB Frames over through a
bounded queue. No other thread touches the container, because PyAV cannot interrupt a
read that is in progress and closing a container under a running read is unsafe. So
``close()`` sets a stop event and returns within ``CLOSE_WAIT_S``; a reader blocked in a
network read leaves at its next read timeout and closes the container itself.

Kinds differ only in how they open (an OpenPlan), whether they pace, and what they do when
the input ends (AtEnd); see testpattern.py, files.py, devices.py and network.py.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from fractions import Fraction

import av
import av.error
from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from stylecast.capture.base import Source
from stylecast.capture.pacing import Pacer
from stylecast.capture.plan import AtEnd, OpenPlan
from stylecast.errors import CaptureError, first_line
from stylecast.pipeline.frames import Frame, check_rgb
from stylecast.pipeline.queue import BoundedQueue

__all__ = ["PyAVSource", "stream_rate"]

log = logging.getLogger(__name__)

DEFAULT_FPS = Fraction(30)
CLOSE_WAIT_S = 1.0  # close() waits this long for the reader, then leaves it to finish alone
RECONNECT_WINDOW_S = 30.0  # a network source gives up after this long without a frame
FIRST_DATA_S = 10.0  # a network source waits this long for its sender to start
RETRY_DELAY_S = 0.5
MAX_BAD_PACKETS = 100  # consecutive undecodable packets before the input counts as corrupt
POLL_S = 0.1  # how often waiting loops re-check the stop event


class _State(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


class _End:
    """Marker the reader queues last; the consumer then raises ``error`` or returns."""


_END = _End()


_TIMED_OUT = (av.error.ExitError, av.error.TimeoutError)  # PyAV's timeout= interrupts


def _reason(exc: BaseException) -> str:
    """One line from a PyAV or OS error, without the errno noise."""
    if isinstance(exc, _TIMED_OUT):
        return "timed out waiting for data"
    return first_line(exc)


def stream_rate(stream: VideoStream) -> Fraction | None:
    """The stream's nominal frame rate, if the container states a sane one."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and 0 < rate <= 1000:
            return Fraction(rate)
    return None


class PyAVSource(Source):
    """A Source decoded by PyAV in its own reader thread.

    Frames are (H, W, 3) uint8 RGB, C-contiguous, at ``size`` (the requested size, else the
    first frame's), with the input's own pts/time_base (continued monotonically across a
    loop or reconnect) and ``t_capture`` = ``time.monotonic()`` when decoded, or when
    released for paced sources.

    Args:
        plan: how to open the input.
        description: human-readable name for logs and errors.
        hint: what the user should do when opening fails (ends the error message).
        size: (width, height) to scale to, or None for the input's own size.
        fps: nominal frame rate, or None to read it from the stream.
        live: True: real-time use; the hand-off drops the oldest frame for unpaced inputs.
            False: never drop, decode as fast as the consumer takes frames.
        pace: release frames at their pts in real time (only when ``live``): for files and
            test patterns, which would otherwise decode faster than real time.
        at_end: what to do when the input ends or stalls.
    """

    def __init__(self, plan: OpenPlan, *, description: str, hint: str,
                 size: tuple[int, int] | None = None, fps: Fraction | None = None,
                 live: bool = True, pace: bool = False, at_end: AtEnd = AtEnd.STOP) -> None:
        self._plan = plan
        self.description = description
        self._hint = hint
        self.live = live
        self._pace = pace and live
        self._at_end = at_end
        drop = live and not self._pace  # paced inputs wait: pacing happens after the queue
        self._queue: BoundedQueue[Frame | _End] = BoundedQueue(
            1 if drop else 4, "drop_oldest" if drop else "block")
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._state = _State.NEW
        self._state_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        # Written by the reader thread only; read by others after _ready is set.
        self._size: tuple[int, int] | None = size
        self._fps: Fraction | None = fps
        self._index = 0
        self._segment_start = True
        self._offset = 0
        self._end_time: Fraction | None = None
        self._last_frame_at = time.monotonic()

    # -- Source API -------------------------------------------------------------------

    @property
    def size(self) -> tuple[int, int]:
        if self._size is None or not self._ready.is_set():
            raise CaptureError(f"{self.description}: size is unknown until open() succeeds; "
                               "call open() first")
        return self._size

    @property
    def fps(self) -> Fraction:
        if self._fps is None or not self._ready.is_set():
            raise CaptureError(f"{self.description}: frame rate is unknown until open() "
                               "succeeds; call open() first")
        return self._fps

    @property
    def dropped(self) -> int:
        """Frames the live hand-off discarded because the consumer was busy."""
        return self._queue.dropped

    def open(self) -> None:
        """Start the reader and wait for the first frame; raises CaptureError."""
        with self._state_lock:
            if self._state is _State.OPEN:
                return
            if self._state is _State.CLOSED:
                raise CaptureError(f"{self.description} was closed; open a new source instead")
            self._state = _State.OPEN
        self._thread = threading.Thread(target=self._run, name=f"capture {self.description}",
                                        daemon=True)
        self._thread.start()
        open_s, read_s = self._plan.timeout or (10.0, 5.0)
        wait_s = FIRST_DATA_S + open_s + read_s + 5.0  # bounded even if the reader hangs
        deadline = time.monotonic() + wait_s
        while not self._ready.wait(POLL_S):
            if self._stop.is_set():
                raise CaptureError(f"{self.description} was closed while opening")
            if time.monotonic() > deadline:
                self.close()
                raise CaptureError(f"{self.description} delivered no frame within "
                                   f"{wait_s:.0f} s of opening: {self._hint}")
        if self._error is not None:
            self.close()
            raise self._error

    def frames(self) -> Iterator[Frame]:
        """Yield frames until the input ends or ``close()``; raises CaptureError."""
        if self._state is _State.NEW:
            self.open()
        pacer = Pacer(self._stop, 1 / (self._fps or DEFAULT_FPS)) if self._pace else None
        while not self._stop.is_set():
            item = self._queue.get(POLL_S)
            if item is None:
                continue
            if isinstance(item, _End):
                self._queue.put_final(item)  # a later frames() call ends at once too
                if self._error is not None:
                    raise self._error
                return
            if pacer is not None:
                seconds = item.seconds
                if seconds is None:
                    seconds = item.index / float(self._fps or DEFAULT_FPS)
                if not pacer.wait_until(seconds):
                    return
                item = replace(item, t_capture=time.monotonic())
            if self._stop.is_set():
                return
            yield item

    def close(self) -> None:
        """Stop the reader; idempotent, callable from any thread, returns within ~1 s."""
        with self._state_lock:
            if self._state is _State.CLOSED:
                return
            self._state = _State.CLOSED
        self._stop.set()
        self._queue.wake()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(CLOSE_WAIT_S)
            if thread.is_alive():
                log.debug("%s: reader still inside a blocking read; it closes the input "
                          "at its read timeout", self.description)

    # -- reader thread ----------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._read_segments()
        except Exception as exc:  # not a fallback: handed to the consumer, re-raised there
            self._error = exc
        finally:
            self._ready.set()
            self._queue.put_final(_END)

    def _read_segments(self) -> None:
        """Open, read to the end, and open again while ``at_end`` says so."""
        segment = 0
        started = time.monotonic()
        while not self._stop.is_set():
            try:
                container = self._open_container()
            except CaptureError as exc:
                # Network opens use a short timeout and retry, so that the reader notices
                # close() within one open timeout instead of one long wait.
                waiting = isinstance(exc.__cause__, _TIMED_OUT)
                if self._at_end is not AtEnd.RECONNECT:
                    raise
                if segment == 0 and not (waiting and
                                         time.monotonic() - started < FIRST_DATA_S):
                    raise
                if segment > 0:
                    self._check_reconnect_window()
                if not waiting:
                    self._stop.wait(RETRY_DELAY_S)
                continue
            try:
                produced, why = self._read_segment(container)
            finally:
                container.close()
            segment += 1
            if self._stop.is_set() or not self._again(produced, why):
                return

    def _open_container(self) -> InputContainer:
        plan = self._plan
        try:
            container = av.open(plan.url, format=plan.format,
                                container_options=dict(plan.options), timeout=plan.timeout)
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise self.open_error(exc) from exc
        if not container.streams.video:
            container.close()
            raise CaptureError(f"{self.description} has no video stream: {self._hint}")
        return container

    def open_error(self, exc: BaseException) -> CaptureError:
        """The CaptureError for a failed ``av.open``; kinds override for sharper advice."""
        return CaptureError(f"cannot open {self.description} ({_reason(exc)}): {self._hint}")

    def _read_segment(self, container: InputContainer) -> tuple[int, str]:
        """Decode one opening of the input; returns (frames produced, why it ended)."""
        stream = container.streams.video[0]
        if not self.live:
            stream.thread_type = "AUTO"  # frame threads add latency, so only offline
        if self._fps is None:
            self._fps = stream_rate(stream) or DEFAULT_FPS
        self._segment_start = True
        decoded = container.decode(stream)
        produced = bad = damaged = 0
        while not self._stop.is_set():
            try:
                vframe = next(decoded)
            except StopIteration:
                if damaged:
                    self._check_complete(stream, produced)
                return produced, "end of input"
            except _TIMED_OUT:
                read_s = self._plan.timeout[1] if self._plan.timeout else 0
                return produced, f"no data for {read_s:g} s"
            except av.error.InvalidDataError as exc:
                bad += 1
                damaged += 1
                if bad > MAX_BAD_PACKETS:
                    raise CaptureError(f"{self.description} is corrupt ({_reason(exc)}, "
                                       f"{bad} bad packets in a row): {self._hint}") from exc
                decoded = container.decode(stream)  # the old iterator died with the error
                continue
            except (av.error.FFmpegError, OSError) as exc:
                if self._at_end is AtEnd.RECONNECT:  # e.g. connection reset: reconnect
                    return produced, f"read failed ({_reason(exc)})"
                if isinstance(exc, EOFError):
                    self._check_complete(stream, produced)
                raise CaptureError(f"{self.description} failed while reading "
                                   f"({_reason(exc)}): {self._hint}") from exc
            bad = 0
            produced += 1
            self._last_frame_at = time.monotonic()
            if not self._queue.put(self._to_frame(vframe, stream), stop=self._stop):
                break
        return produced, "closed"

    def _check_complete(self, stream: VideoStream, produced: int) -> None:
        """Raise CaptureError for a damaged input that also ended early (a truncated
        file): playing two frames and stopping quietly would look like success."""
        expected = stream.frames
        if self._at_end is AtEnd.RECONNECT or not expected or produced >= expected:
            return
        raise CaptureError(f"{self.description} is truncated or damaged: it ended after "
                           f"{produced} of the {expected} frames its header lists; "
                           "re-download or re-encode it")

    def _again(self, produced: int, why: str) -> bool:
        """After a segment ended: True to open the input again."""
        if self._at_end is AtEnd.STOP:
            return False
        if self._at_end is AtEnd.FAIL:
            raise CaptureError(f"{self.description} stopped delivering frames ({why}): "
                               f"{self._hint}")
        if self._at_end is AtEnd.LOOP:
            if produced == 0:
                raise CaptureError(f"{self.description} has no decodable frames to loop: "
                                   f"{self._hint}")
            return True
        log.warning("%s: %s; reconnecting", self.description, why)
        self._check_reconnect_window()
        return True

    def _check_reconnect_window(self) -> None:
        if time.monotonic() - self._last_frame_at > RECONNECT_WINDOW_S:
            raise CaptureError(f"{self.description} sent nothing for {RECONNECT_WINDOW_S:.0f} "
                               f"s and reconnecting failed: {self._hint}")

    def _to_frame(self, vframe: VideoFrame, stream: VideoStream) -> Frame:
        if self._size is None:
            # The first frame fixes the size: later frames are scaled to it, so a stream
            # that changes resolution mid-way still yields one size.
            self._size = (vframe.width, vframe.height)
        if not self._ready.is_set():
            self._ready.set()
        width, height = self._size
        rgb = vframe.reformat(width=width, height=height, format="rgb24").to_ndarray()
        pts, time_base = self._timestamps(vframe, stream)
        frame = Frame(data=check_rgb(rgb), index=self._index, pts=pts, time_base=time_base)
        self._index += 1
        return frame

    def _timestamps(self, vframe: VideoFrame,
                    stream: VideoStream) -> tuple[int, Fraction]:
        """The frame's pts, shifted after a loop/reconnect so time never runs backwards."""
        fps = self._fps or DEFAULT_FPS
        time_base = vframe.time_base or stream.time_base or 1 / fps
        if vframe.pts is None:
            pts = 0 if self._end_time is None else round(self._end_time / time_base)
        else:
            if self._segment_start:
                # The first segment keeps the input's own timestamps (offset 0): an
                # offline render must preserve them.
                self._offset = (0 if self._end_time is None
                                else round(self._end_time / time_base) - vframe.pts)
            pts = vframe.pts + self._offset
        self._segment_start = False
        self._end_time = pts * time_base + 1 / fps
        return pts, Fraction(time_base)
