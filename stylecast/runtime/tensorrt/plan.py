"""What the TensorRT runtime decides in plain Python: shape profiles, bindings, build progress.

Nothing here imports TensorRT, so all of it is tested on machines without it; the runtime in
``runtime.py`` only translates TensorRT's objects into these plain values and back.

- A ``ShapeProfile`` is the min/opt/max frame size an engine accepts (TensorRT's optimisation
  profile), chosen from the sizes a user asks for and rounded to the network's multiple.
- ``expected_tensors`` says what ``FrameGraph`` or ``TemporalFrameGraph`` takes and returns;
  ``plan_bindings`` checks an engine's IO tensors against it and says which host array goes
  to which tensor, at which shape.
- ``BuildProgress`` turns TensorRT's progress-monitor callbacks into a tqdm bar.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from stylecast.errors import ConfigError, EngineBuildError
from stylecast.model.graph import INPUT_NAMES as FRAME_INPUTS
from stylecast.model.graph import OUTPUT_NAMES as FRAME_OUTPUTS
from stylecast.temporal.graph import INPUT_NAMES as TEMPORAL_INPUTS
from stylecast.temporal.graph import OUTPUT_NAMES as TEMPORAL_OUTPUTS

#: Largest frame side the exported ONNX graphs admit (their dynamic dimensions stop there).
MAX_SIDE = 8192
#: Size of the control page's style thumbnails (``stylecast.control.controller.THUMB_SIZE``);
#: every profile reaches down to it so thumbnails run on the live engine.
STILL_SIZE = (192, 108)
#: Profile used when the runtime must build an engine itself: 720p tuned, 1080p at most.
DEFAULT_SIZES: tuple[tuple[int, int], ...] = ((1280, 720), (640, 360), (1920, 1080))

Size = tuple[int, int]  # (width, height), as in "1280x720"


def format_size(size: Size) -> str:
    return f"{size[0]}x{size[1]}"


@dataclass(frozen=True)
class ShapeProfile:
    """Frame sizes an engine accepts: every (width, height) between ``min`` and ``max``,
    tuned for ``opt``. All sides are multiples of the network's multiple."""

    min: Size
    opt: Size
    max: Size

    def covers(self, width: int, height: int) -> bool:
        return (self.min[0] <= width <= self.max[0]) and (self.min[1] <= height <= self.max[1])

    def describe(self) -> str:
        return (f"{format_size(self.min)} .. {format_size(self.max)}, tuned for "
                f"{format_size(self.opt)}")

    def as_dict(self) -> dict[str, list[int]]:
        return {"min": list(self.min), "opt": list(self.opt), "max": list(self.max)}


def _round_down(size: Size, multiple: int, what: str) -> Size:
    width, height = size
    if width <= 0 or height <= 0:
        raise ConfigError(f"{what} {width}x{height} must be positive")
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ConfigError(f"{what} {width}x{height} is larger than the exported graph admits "
                          f"({MAX_SIDE} per side)")
    rounded = (width - width % multiple, height - height % multiple)
    if min(rounded) < 2 * multiple:
        raise ConfigError(f"{what} {width}x{height} is too small: the network needs at least "
                          f"{2 * multiple}x{2 * multiple}")
    return rounded


def profile_from_sizes(
    sizes: Sequence[Size], multiple: int, opt: Size | None = None
) -> ShapeProfile:
    """The profile covering every size in ``sizes`` (and the thumbnail size).

    Each size is rounded down to ``multiple``, as the stylizer rounds its processing size.
    The engine is tuned (``opt``) for ``opt`` when given, else for the size listed most often,
    ties going to the first listed: put your live size first.

    Args:
        sizes: (width, height) pairs, at least one.
        multiple: the network's ``spec.multiple``.
        opt: the size to tune for; must lie within the others.

    Raises:
        ConfigError: no sizes, a size that is not positive, too small or too large, or an
            ``opt`` outside the range of ``sizes``.
    """
    if not sizes:
        raise ConfigError("give at least one frame size, e.g. --sizes 1280x720")
    rounded = [_round_down(s, multiple, "size") for s in sizes]
    counts = Counter(rounded)
    best = max(counts.values())
    tuned = next(s for s in rounded if counts[s] == best)
    if opt is not None:
        tuned = _round_down(opt, multiple, "opt size")
    still = _round_down(STILL_SIZE, multiple, "thumbnail size")
    low = (min(min(w for w, _ in rounded), still[0]), min(min(h for _, h in rounded), still[1]))
    high = (max(w for w, _ in rounded), max(h for _, h in rounded))
    if opt is not None and not (low[0] <= tuned[0] <= high[0] and low[1] <= tuned[1] <= high[1]):
        raise ConfigError(f"opt size {format_size(tuned)} is outside the sizes asked for "
                          f"({format_size(low)} .. {format_size(high)}); add it to --sizes")
    return ShapeProfile(min=low, opt=tuned, max=high)


def profile_from_bounds(low: Size, opt: Size, high: Size, multiple: int) -> ShapeProfile:
    """An explicit min/opt/max, rounded down to ``multiple``; raises ConfigError unless
    min <= opt <= max in both width and height."""
    rounded = [_round_down(s, multiple, what) for s, what in
               ((low, "min size"), (opt, "opt size"), (high, "max size"))]
    for axis, name in ((0, "width"), (1, "height")):
        values = [s[axis] for s in rounded]
        if not values[0] <= values[1] <= values[2]:
            raise ConfigError(f"profile {name}s must satisfy min <= opt <= max; got "
                              f"{values[0]}, {values[1]}, {values[2]}")
    return ShapeProfile(min=rounded[0], opt=rounded[1], max=rounded[2])


# --- bindings ---------------------------------------------------------------------------

# Symbolic dimensions: frame height/width and the 1/4-resolution state's height/width.
_DIMS = {"H": lambda h, w: h, "W": lambda h, w: w, "h": lambda h, w: h // 4,
         "w": lambda h, w: w // 4}


@dataclass(frozen=True)
class TensorSpec:
    """One IO tensor as the graph defines it: shape entries are ints or "H", "W", "h", "w"."""

    name: str
    dtype: str
    shape: tuple[int | str, ...]

    def concrete(self, height: int, width: int) -> tuple[int, ...]:
        return tuple(_DIMS[d](height, width) if isinstance(d, str) else d for d in self.shape)


@dataclass(frozen=True)
class GraphIO:
    """Inputs and outputs of one graph, in the graph's order."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


def expected_tensors(
    *, num_styles: int, channels: int, stats_channels: int, temporal: bool
) -> GraphIO:
    """The IO tensors of ``FrameGraph`` (or ``TemporalFrameGraph``), named as the graphs name
    them; layouts as in ``stylecast.model.graph`` and ``stylecast.temporal.graph``."""
    table = {
        "frame": TensorSpec("frame", "uint8", (1, "H", "W", 3)),
        "style": TensorSpec("style", "float32", (1, num_styles)),
        "strength": TensorSpec("strength", "float32", (1,)),
        "preserve": TensorSpec("preserve", "float32", (1,)),
        "stylized": TensorSpec("stylized", "uint8", (1, "H", "W", 3)),
        "prev_feats": TensorSpec("prev_feats", "float32", (1, "h", "w", channels)),
        "confidence": TensorSpec("confidence", "float32", (1, 1, "h", "w")),
        "prev_stats": TensorSpec("prev_stats", "float32", (1, 2, stats_channels)),
        "stat_rate": TensorSpec("stat_rate", "float32", (1,)),
        "features": TensorSpec("features", "float32", (1, "h", "w", channels)),
        "stats": TensorSpec("stats", "float32", (1, 2, stats_channels)),
    }
    inputs, outputs = ((TEMPORAL_INPUTS, TEMPORAL_OUTPUTS) if temporal
                       else (FRAME_INPUTS, FRAME_OUTPUTS))
    missing = [n for n in (*inputs, *outputs) if n not in table]
    if missing:  # a graph gained a tensor this table does not describe yet
        raise EngineBuildError(f"the TensorRT binding table has no layout for {missing}; "
                               "update stylecast.runtime.tensorrt.plan.expected_tensors")
    return GraphIO(inputs=tuple(table[n] for n in inputs),
                   outputs=tuple(table[n] for n in outputs))


def profile_shapes(io: GraphIO, profile: ShapeProfile) -> dict[str, tuple[tuple[int, ...], ...]]:
    """(min, opt, max) shape of every input for TensorRT's optimisation profile."""
    return {
        spec.name: tuple(spec.concrete(size[1], size[0])
                         for size in (profile.min, profile.opt, profile.max))
        for spec in io.inputs
    }


@dataclass(frozen=True)
class EngineTensor:
    """One IO tensor as a built engine reports it (-1 for a dynamic dimension)."""

    name: str
    is_input: bool
    dtype: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class BindingPlan:
    """Which engine tensor each host array feeds or fills, and at which shape."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def shapes(self, height: int, width: int) -> dict[str, tuple[int, ...]]:
        """Concrete shape of every tensor for a ``width`` x ``height`` frame."""
        return {s.name: s.concrete(height, width) for s in (*self.inputs, *self.outputs)}


def _shape_problem(spec: TensorSpec, found: tuple[int, ...]) -> str | None:
    if len(found) != len(spec.shape):
        return f"{spec.name} has rank {len(found)} {found}, expected {len(spec.shape)}"
    for want, got in zip(spec.shape, found, strict=True):
        if isinstance(want, int) and got != want:
            return f"{spec.name} has shape {found}, expected {spec.shape}"
    return None


def plan_bindings(tensors: Iterable[EngineTensor], io: GraphIO, *, rebuild: str) -> BindingPlan:
    """Check an engine's IO tensors against the graph and plan the bindings.

    Args:
        tensors: what the engine reports, one per IO tensor.
        io: what the graph defines (``expected_tensors``).
        rebuild: the command that rebuilds this engine, for the message.

    Raises:
        EngineBuildError: a tensor is missing, extra, an input where an output is expected
            (or the reverse), of another dtype, or of another fixed shape; every problem is
            listed.
    """
    found = {t.name: t for t in tensors}
    problems: list[str] = []
    expected = [(s, True) for s in io.inputs] + [(s, False) for s in io.outputs]
    for spec, is_input in expected:
        tensor = found.get(spec.name)
        role = "input" if is_input else "output"
        if tensor is None:
            problems.append(f"missing {role} {spec.name!r}")
            continue
        if tensor.is_input != is_input:
            problems.append(f"{spec.name!r} is an {'input' if tensor.is_input else 'output'}, "
                            f"expected an {role}")
        if tensor.dtype != spec.dtype:
            problems.append(f"{spec.name!r} is {tensor.dtype}, expected {spec.dtype}")
        shape_problem = _shape_problem(spec, tensor.shape)
        if shape_problem:
            problems.append(shape_problem)
    known = {s.name for s, _ in expected}
    problems += [f"unexpected {'input' if t.is_input else 'output'} {t.name!r}"
                 for t in found.values() if t.name not in known]
    if problems:
        raise EngineBuildError(f"the TensorRT engine does not match the stylecast graph: "
                               f"{'; '.join(problems)}. Rebuild it: {rebuild}")
    return BindingPlan(inputs=io.inputs, outputs=io.outputs)


# --- build progress -----------------------------------------------------------------------


class BuildProgress:
    """Drives one tqdm bar from TensorRT's progress-monitor callbacks.

    The bar follows the top-level phase; nested phases show as its postfix. TensorRT calls
    these from several builder threads, hence the lock. ``bar_factory`` makes the bar
    (``tqdm.tqdm`` by default; tests pass a fake).
    """

    def __init__(self, description: str, bar_factory: Any = None) -> None:
        if bar_factory is None:
            from tqdm import tqdm

            bar_factory = tqdm
        self._factory = bar_factory
        self._description = description
        self._lock = threading.Lock()
        self._bar: Any = None
        self._top: str | None = None
        self.cancelled = threading.Event()

    def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
        with self._lock:
            if parent_phase is None or self._bar is None:
                if self._bar is not None:
                    self._bar.close()
                self._top = phase_name
                self._bar = self._factory(total=max(num_steps, 1),
                                          desc=f"{self._description}: {phase_name}",
                                          unit="step", leave=False)
            else:
                self._bar.set_postfix_str(phase_name, refresh=True)

    def step_complete(self, phase_name: str, step: int) -> bool:
        """Returns False once ``cancelled`` is set, which asks TensorRT to stop building."""
        with self._lock:
            if self._bar is not None and phase_name == self._top:
                self._bar.update(max(step + 1 - self._bar.n, 0))
        return not self.cancelled.is_set()

    def phase_finish(self, phase_name: str) -> None:
        with self._lock:
            if self._bar is not None and phase_name == self._top:
                self._bar.close()
                self._bar = None
                self._top = None

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
