"""Built-in animated sources (``--input test[:NAME]``): the demo scene, and FFmpeg's lavfi
test patterns.

They need no camera, which makes them the source for demos, CI and benchmarks. Plain
``test`` is the demo scene (``stylecast.capture.scene``: a person in front of a landscape,
drawn by stylecast), which paints like a picture; ``test:testsrc2`` and the other lavfi
cards are flat colour bars and shapes, for pipeline checks and the benchmarks. lavfi
renders far faster than real time (testsrc2 ~750 fps at 720p), so a live pattern is paced
by its pts in ``PyAVSource``; with ``live=False`` frames come as fast as they are taken.
"""

from __future__ import annotations

from fractions import Fraction

from stylecast.capture.base import Source
from stylecast.capture.plan import AtEnd, OpenPlan, SourceRequest
from stylecast.capture.pyav_source import PyAVSource
from stylecast.capture.scene import SceneSource
from stylecast.errors import CaptureError

#: Drawn by stylecast itself (numpy and OpenCV), not by FFmpeg.
SCENE = "scene"
DEFAULT_PATTERN = SCENE
DEFAULT_SIZE = (1280, 720)
DEFAULT_FPS = Fraction(30)

# name -> lavfi graph; {size} is WxH, {rate} a fraction. All but smpte move.
PATTERNS: dict[str, str] = {
    "testsrc2": "testsrc2=size={size}:rate={rate}",
    "testsrc": "testsrc=size={size}:rate={rate}",
    "smpte": "smptehdbars=size={size}:rate={rate}",
    "mandelbrot": "mandelbrot=size={size}:rate={rate}",
    "life": "life=size={size}:rate={rate}:mold=10:ratio=0.1:death_color=#C83232"
            ":life_color=#00ff00",
    "gradients": "gradients=size={size}:rate={rate}:speed=0.05",
}


class TestPatternSource(PyAVSource):
    """An animated built-in source; default the demo scene at 1280x720, 30 fps, live."""

    __test__ = False  # not a pytest test class, despite the name

    @classmethod
    def from_spec(cls, kind: str, target: str, request: SourceRequest) -> Source:
        """Build from ``test`` or ``test:NAME``; raises CaptureError for unknown names."""
        name = target.strip().lower() or DEFAULT_PATTERN
        if name != SCENE and name not in PATTERNS:
            choices = ", ".join(f"test:{known}" for known in (SCENE, *PATTERNS))
            raise CaptureError(f"unknown test pattern {name!r}: use one of {choices}")
        width, height = request.size or DEFAULT_SIZE
        fps = request.fps or DEFAULT_FPS
        live = True if request.live is None else request.live
        if name == SCENE:
            return SceneSource(size=(width, height), fps=fps, live=live)
        graph = PATTERNS[name].format(size=f"{width}x{height}", rate=fps)
        return cls(OpenPlan(graph, format="lavfi"),
                   description=f"test pattern {name} {width}x{height}@{float(fps):g}",
                   hint="this FFmpeg build lacks the lavfi source; try plain --input test",
                   size=(width, height), fps=fps, live=live, pace=live, at_end=AtEnd.STOP)
