"""Recording a video file (PyAV), and the factory choosing it or numbered images.

A recording keeps each frame's own pts/time_base when it has them, so ``stylecast render``
preserves the input's timing (variable frame rate included); frames without timestamps are
stamped at a constant ``1/fps``. ``close()`` flushes the encoder and writes the trailer, so
the file plays after Ctrl-C as long as the pipeline's ``finally`` reaches ``close()``.
"""

from __future__ import annotations

import logging
import os
import threading
from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.container import OutputContainer
from av.video.stream import VideoStream

from stylecast.errors import SinkError, first_line
from stylecast.outputs.base import Sink
from stylecast.outputs.encoding import (
    add_video_stream,
    check_even,
    check_frame_size,
    encode,
    to_video_frame,
)
from stylecast.outputs.images import ImageSequenceSink, is_image_path
from stylecast.pipeline.frames import Frame, is_sequence_pattern

log = logging.getLogger(__name__)

H264_CONTAINERS = frozenset({".mp4", ".mkv", ".mov", ".m4v"})
X264_RECORD_OPTIONS = {"preset": "veryfast"}
_AV_ERRORS = (av.error.FFmpegError, OSError)


class RecordSink(Sink):
    """Encode frames into a video file: H.264 (libx264 veryfast, yuv420p) in .mp4, .mkv,
    .mov; the container's default video codec for other extensions.

    Args:
        path: output file; missing parent folders are created; an existing file is
            replaced.
    """

    name = "record"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()  # send() and close() may come from different threads
        self._container: OutputContainer | None = None
        self._stream: VideoStream | None = None
        self._size = (0, 0)
        self._fps = Fraction(30)
        self._time_base = Fraction(1, 30)
        self._last_pts: int | None = None
        self._frames = 0
        self._closed = False
        self._warned_backwards = False

    @property
    def frames_written(self) -> int:
        """Frames handed to the encoder so far."""
        return self._frames

    def open(self, *, width: int, height: int, fps: Fraction) -> None:
        """Create the file and the encoder; raises SinkError with what to do."""
        check_even(width, height, f"recording {self.path}")
        with self._lock:
            if self._closed or self._container is not None:
                raise SinkError(f"recording {self.path} was already opened; use a new sink")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                container = av.open(str(self.path), "w")
            except ValueError as exc:  # PyAV: no muxer for this extension
                raise SinkError(f"cannot record to {self.path}: unknown container "
                                f"{self.path.suffix!r}; use .mp4, .mkv or .mov") from exc
            except _AV_ERRORS as exc:
                raise SinkError(f"cannot write {self.path} ({first_line(exc)}): check the "
                                "folder exists and is writable") from exc
            default = container.default_video_codec
            codecs = (("libx264", default) if self.path.suffix.lower() in H264_CONTAINERS
                      else (default,))
            self._fps = Fraction(fps)
            self._time_base = 1 / self._fps
            try:
                self._stream = add_video_stream(
                    container, codecs, width=width, height=height, fps=self._fps,
                    time_base=self._time_base, options=X264_RECORD_OPTIONS,
                    what=f"recording {self.path}")
            except SinkError:
                container.close()
                raise
            self._container = container
            self._size = (width, height)

    def send(self, frame: Frame) -> None:
        """Encode one (H, W, 3) uint8 RGB frame; raises SinkError (e.g. disk full)."""
        with self._lock:
            if self._container is None or self._stream is None:
                state = "closed" if self._closed else "not open"
                raise SinkError(f"recording {self.path} is {state}: open() it first")
            check_frame_size(frame, self._size, f"recording {self.path}")
            if self._frames == 0 and frame.pts is not None and frame.time_base is not None:
                # The encoder opens on the first frame, so its clock can still follow the
                # source's time base exactly (no rounding of the source's timestamps).
                self._time_base = Fraction(frame.time_base)
                self._stream.codec_context.time_base = self._time_base
            pts = self._next_pts(frame)
            try:
                encode(self._stream, self._container,
                       to_video_frame(frame, pts, self._time_base))
            except _AV_ERRORS as exc:
                raise SinkError(f"recording to {self.path} failed ({first_line(exc)}): is the "
                                "disk full or the drive gone?") from exc
            self._frames += 1

    def _next_pts(self, frame: Frame) -> int:
        """The frame's pts in our time base, or the next constant-rate tick."""
        step = max(1, round(1 / (self._fps * self._time_base)))
        if frame.pts is not None and frame.time_base is not None:
            pts = round(frame.pts * Fraction(frame.time_base) / self._time_base)
        else:
            pts = 0 if self._last_pts is None else self._last_pts + step
        if self._last_pts is not None and pts <= self._last_pts:
            # Encoders and muxers reject time running backwards (a restarted source);
            # keep the file valid and say so once.
            if not self._warned_backwards:
                log.warning("recording %s: timestamps went backwards at frame %d; "
                            "continuing at the frame rate", self.path, frame.index)
                self._warned_backwards = True
            pts = self._last_pts + step
        self._last_pts = pts
        return pts

    def close(self) -> None:
        """Flush the encoder and finish the file; idempotent; SinkError if that fails."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            container, stream = self._container, self._stream
            self._container = self._stream = None
        if container is None or stream is None:
            return
        try:
            if self._frames:
                encode(stream, container, None)
        except _AV_ERRORS as exc:
            raise SinkError(f"finishing {self.path} failed ({first_line(exc)}): the file may "
                            "be truncated; is the disk full?") from exc
        finally:
            container.close()
        if not self._frames:
            log.warning("recording %s received no frames", self.path)


def open_file_output(path: str | os.PathLike[str]) -> Sink:
    """The sink for a video's ``--output`` or ``--record`` path: numbered images for a
    ``%d`` pattern, else a video file (see RecordSink for the formats).

    Raises:
        SinkError: ``path`` names one picture (painted.png), which cannot hold a video;
            FFmpeg would accept it and fail at the first frame with "Invalid argument".
    """
    text = os.fspath(path)
    if is_sequence_pattern(text):
        return ImageSequenceSink(text)
    if is_image_path(text):
        stem = Path(text).with_suffix("")
        raise SinkError(f"{text} is a single picture and cannot hold a video: write numbered "
                        f"pictures ({stem}/%05d{Path(text).suffix}) or a video file "
                        f"({stem}.mp4)")
    return RecordSink(text)
