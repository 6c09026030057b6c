"""Video files and image sequences as sources.

Offline (``live=False``, the default) they decode as fast as the consumer takes frames and
never drop one, keeping the file's own timestamps so a render preserves them. Live they
are paced by pts, and ``loop=True`` starts again at the end with timestamps that keep
increasing (for VJ use).
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

from stylecast.capture.plan import AtEnd, OpenPlan, SourceRequest
from stylecast.capture.pyav_source import PyAVSource
from stylecast.errors import CaptureError
from stylecast.pipeline.frames import is_sequence_pattern

SEQUENCE_FPS = Fraction(30)


class FileSource(PyAVSource):
    """A video file decoded with PyAV (any container and codec FFmpeg reads)."""

    @classmethod
    def from_spec(cls, kind: str, target: str, request: SourceRequest) -> FileSource:
        """Build from a path (``clip.mp4`` or ``file:clip.mp4``); raises CaptureError."""
        path = Path(target).expanduser()
        if path.is_dir():
            raise CaptureError(f"{path} is a directory: give a video file, or an image "
                               f"sequence pattern like {path / '%05d.png'}")
        if not path.is_file():
            raise CaptureError(f"no video file at {path} (relative to {Path.cwd()}): check "
                               "the path, or use --input test for a test pattern")
        live = bool(request.live)
        return cls(OpenPlan(str(path)), description=f"file {path.name}",
                   hint="is it a video FFmpeg can read? re-encoding it to H.264 .mp4 helps",
                   size=request.size, fps=request.fps, live=live, pace=live,
                   at_end=AtEnd.LOOP if request.loop else AtEnd.STOP)


class ImageSequenceSource(PyAVSource):
    """Numbered images (``frames/%05d.png``) through FFmpeg's image2 demuxer."""

    @classmethod
    def from_spec(cls, kind: str, target: str,
                  request: SourceRequest) -> ImageSequenceSource:
        """Build from a printf-style pattern; frame rate is ``fps`` or 30."""
        if not is_sequence_pattern(target):
            raise CaptureError(f"{target!r} is not an image sequence pattern: use one %d "
                               "directive, e.g. frames/%05d.png")
        first = first_number(target)
        if first is None:
            raise CaptureError(f"no images match {target} (e.g. {target % 1}): check the "
                               "folder and the number of digits in the pattern")
        fps = request.fps or SEQUENCE_FPS
        live = bool(request.live)
        plan = OpenPlan(target, format="image2",
                        options={"framerate": str(fps), "start_number": str(first)})
        return cls(plan, description=f"image sequence {target}",
                   hint="are these images FFmpeg can read (png, jpg, bmp, tiff)?",
                   size=request.size, fps=fps, live=live, pace=live,
                   at_end=AtEnd.LOOP if request.loop else AtEnd.STOP)


def first_number(pattern: str) -> int | None:
    """The smallest frame number with an existing file for ``pattern``, or None."""
    path = Path(pattern).expanduser()
    if not path.parent.is_dir():
        return None
    # Turn 'shot_%05d.png' into ^shot_(\d+)\.png$ and scan the folder once.
    literal = re.escape(path.name.replace("%%", "\0"))
    regex = re.sub(r"%0?\d*d", r"(\\d+)", literal).replace("\0", "%")
    matcher = re.compile(f"^{regex}$")
    numbers = [int(m.group(1)) for entry in path.parent.iterdir()
               if (m := matcher.match(entry.name)) and entry.is_file()]
    return min(numbers) if numbers else None
