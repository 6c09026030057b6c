"""Encoder helpers shared by the recording and streaming sinks (PyAV, FFmpeg encoders)."""

from __future__ import annotations

from fractions import Fraction
from typing import cast

import av
import av.error
from av.container import OutputContainer
from av.video.stream import VideoStream

from stylecast.errors import SinkError
from stylecast.pipeline.frames import Frame, check_rgb


def check_frame_size(frame: Frame, size: tuple[int, int], what: str,
                     error: type[SinkError] = SinkError) -> None:
    """Raise ``error`` unless ``frame`` is (width, height) ``size``."""
    if (frame.width, frame.height) != size:
        raise error(f"{what} was opened for {size[0]}x{size[1]} but got a "
                        f"{frame.width}x{frame.height} frame: keep one output size per run")


def check_even(width: int, height: int, what: str,
               error: type[SinkError] = SinkError) -> None:
    """yuv420p encoders need even sizes; say so before FFmpeg does, obscurely."""
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise error(f"{what} needs an even, positive size for yuv420p video, got "
                        f"{width}x{height}: use e.g. --size 1280x720")


def add_video_stream(container: OutputContainer, codecs: tuple[str, ...], *, width: int,
                     height: int, fps: Fraction, time_base: Fraction,
                     options: dict[str, str], what: str) -> VideoStream:
    """Add a video stream with the first encoder in ``codecs`` this FFmpeg has.

    The pixel format is yuv420p when the encoder takes it (what players expect), else
    the encoder's first format. Raises SinkError if no encoder is available.
    """
    available = [name for name in codecs if name in av.codecs_available]
    if not available:
        raise SinkError(f"{what}: none of the encoders {', '.join(codecs)} is in this "
                        "FFmpeg build: install a PyAV wheel with libx264")
    # A video stream: every codec in ``codecs`` is a video encoder (PyAV types it by name).
    stream = cast(VideoStream, container.add_stream(available[0], rate=fps))
    stream.width, stream.height = width, height
    formats = [f.name for f in stream.codec_context.codec.video_formats or ()]
    stream.pix_fmt = "yuv420p" if "yuv420p" in formats or not formats else formats[0]
    stream.codec_context.time_base = time_base
    if available[0] == "libx264":
        stream.options = dict(options)
    return stream


def to_video_frame(frame: Frame, pts: int, time_base: Fraction) -> av.VideoFrame:
    """An av.VideoFrame from (H, W, 3) uint8 RGB; the encoder converts it to its format."""
    vframe = av.VideoFrame.from_ndarray(check_rgb(frame.data), format="rgb24")
    vframe.pts = pts
    vframe.time_base = time_base
    return vframe


def encode(stream: VideoStream, container: OutputContainer,
           vframe: av.VideoFrame | None) -> None:
    """Encode one frame (None flushes) and mux what comes out."""
    for packet in stream.encode(vframe):
        container.mux(packet)
