"""The runtime contract: one class per inference engine, registered by name."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

import numpy as np

from stylecast.errors import BackendUnavailable, ConfigError
from stylecast.temporal.state import TemporalInputs, TemporalOutputs

if TYPE_CHECKING:  # no torch at import: the ONNX runtimes run a pack's graphs without it
    from stylecast.model.network import StyleNetwork
    from stylecast.model.packnet import PackNetwork

#: Precision names a user may ask for; "auto" lets the runtime pick its fastest exact-enough one.
PRECISIONS = ("auto", "f32", "f16", "bf16")


@dataclass(frozen=True)
class RuntimeInfo:
    """What actually runs: reported by ``doctor``, ``bench`` and the status line."""

    name: str
    device: str
    precision: str


@dataclass(frozen=True)
class Capabilities:
    """What a runtime can do on this machine, found without compiling anything.

    Attributes:
        device: the device it would run on, in words ("cpu: AMD EPYC").
        precisions: precisions it can deliver here, preferred ("auto") first.
    """

    device: str
    precisions: tuple[str, ...]


def resolve_precision(runtime: str, requested: str, capabilities: Capabilities) -> str:
    """Map a requested precision to the one that will run; never downgrades.

    Args:
        runtime: runtime name, for the message.
        requested: one of ``PRECISIONS``.
        capabilities: what the runtime offers here.

    Returns:
        ``requested``, or for "auto" the runtime's preferred precision.

    Raises:
        ConfigError: ``requested`` is not a known precision name.
        BackendUnavailable: the runtime cannot deliver ``requested`` on this machine.
    """
    if requested not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}; got {requested!r}")
    if requested == "auto":
        return capabilities.precisions[0]
    if requested not in capabilities.precisions:
        raise BackendUnavailable(
            f"{runtime} cannot run {requested} on {capabilities.device} (it offers "
            f"{', '.join(capabilities.precisions)}); ask for one of those or another runtime"
        )
    return requested


def check_frame(frame: np.ndarray, style: np.ndarray, num_styles: int, multiple: int) -> None:
    """Shape check at the runtime boundary: cheap enough for every frame.

    Raises:
        ValueError: frame is not (H, W, 3) uint8 with H, W multiples of ``multiple``, or
            style is not (num_styles,) float32.
    """
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must be (H, W, 3) uint8 RGB; got {frame.shape} {frame.dtype}")
    if frame.shape[0] % multiple or frame.shape[1] % multiple:
        raise ValueError(f"frame height and width must be multiples of {multiple}; got "
                         f"{frame.shape[0]}x{frame.shape[1]} (pad or resize it first)")
    if style.dtype != np.float32 or style.shape != (num_styles,):
        raise ValueError(f"style must be ({num_styles},) float32; got {style.shape} {style.dtype}")


class FrameFeeds:
    """Reused input buffers for an exported graph's frame and controls (``FrameGraph`` and
    ``TemporalFrameGraph`` name them alike): one place fills them per call.

    Args:
        num_styles: length of the style vector.
    """

    def __init__(self, num_styles: int) -> None:
        self._style = np.zeros((1, num_styles), dtype=np.float32)
        self._strength = np.zeros(1, dtype=np.float32)
        self._preserve = np.zeros(1, dtype=np.float32)

    def __call__(self, frame: np.ndarray, style: np.ndarray, strength: float,
                 preserve: float) -> dict[str, np.ndarray]:
        """Inputs by name: the (H, W, 3) uint8 frame as (1, H, W, 3) (no copy when it is
        C-contiguous), and the controls in the reused buffers."""
        self._style[0] = style
        self._strength[0] = strength
        self._preserve[0] = preserve
        return {"frame": np.ascontiguousarray(frame)[None], "style": self._style,
                "strength": self._strength, "preserve": self._preserve}


class Pending(Protocol):
    """A submitted frame (``Runtime.submit``)."""

    def result(self) -> np.ndarray:
        """The stylized (H, W, 3) uint8 frame, waited for; a copy the caller owns."""
        ...


@dataclass(frozen=True)
class Ready:
    """A frame computed at submission: runtimes without asynchronous execution."""

    frame: np.ndarray

    def result(self) -> np.ndarray:
        return self.frame


class Runtime(abc.ABC):
    """Executes ``FrameGraph`` for one network.

    Lifecycle: construct (cheap, no heavy imports), ``open()`` once (imports the SDK,
    compiles or loads; raises BackendUnavailable with the reason), ``infer`` many times from
    one thread, ``close()`` exactly once (idempotent anyway).

    ``network`` is a pack's network (``PackNetwork``: the ONNX runtimes run the pack's own
    graphs, no torch) or a torch ``StyleNetwork``; the torch runtimes replace it with the
    torch module in ``open()`` (``stylecast.runtime.graphs``).

    Options that only some runtimes have (torch-cuda's ``cuda_graph`` and ``compile``) are
    extra keyword-only arguments of that runtime's constructor, named in ``option_names``;
    ``open_runtime(..., options=...)`` passes each runtime the ones it takes.
    """

    name: ClassVar[str] = "runtime"
    #: Kind of device, shown by ``doctor`` even when the runtime is unavailable.
    device_kind: ClassVar[str] = "cpu"
    #: What ``doctor`` suggests when the runtime is unavailable.
    fix_hint: ClassVar[str] = "pip install stylecast"
    #: Whether ``infer_temporal`` is implemented (the temporal feature cache can run).
    supports_temporal: ClassVar[bool] = False
    #: Names of the runtime-specific keyword-only options its constructor takes.
    option_names: ClassVar[tuple[str, ...]] = ()
    #: Frames of one size that ``submit`` may have in flight before the oldest result is
    #: taken; 1 where submitting computes at once.
    max_in_flight: ClassVar[int] = 1
    #: Whether the graphs take any frame size with nothing to build (torch, onnxruntime):
    #: ``temporal_ready`` then says True at once.
    any_size: ClassVar[bool] = False

    def __init__(
        self, *, network: StyleNetwork | PackNetwork, precision: str = "auto",
        threads: int | None = None, cache_dir: Path | None = None,
    ) -> None:
        self.network: StyleNetwork | PackNetwork = network
        self.precision = precision
        self.threads = threads
        self.cache_dir = cache_dir

    @classmethod
    def capabilities(cls) -> Capabilities:
        """Device and precisions on this machine, without compiling (``doctor`` calls it).

        Runtimes with an optional SDK or a device to find override this: it imports the SDK
        and queries the device, and raises BackendUnavailable saying why not and what to do.
        """
        return Capabilities(device=cls.device_kind, precisions=("f32",))

    def check_inputs(self, frame: np.ndarray, style: np.ndarray) -> None:
        """``check_frame`` against this runtime's network; raises ValueError."""
        spec = self.network.spec
        check_frame(frame, style, spec.num_styles, spec.multiple)

    def resolved_precision(self, capabilities: Capabilities) -> str:
        """The precision that will run (``resolve_precision`` of the one asked for)."""
        return resolve_precision(self.name, self.precision, capabilities)

    @abc.abstractmethod
    def open(self) -> None:
        """Prepare to run; raises BackendUnavailable saying why not and what to do."""

    @abc.abstractmethod
    def infer(
        self, frame: np.ndarray, style: np.ndarray, strength: float, preserve: float
    ) -> np.ndarray:
        """(H, W, 3) uint8 RGB, H and W multiples of 4; style (S,) float32 -> (H, W, 3) uint8."""

    def submit(
        self, frame: np.ndarray, style: np.ndarray, strength: float, preserve: float
    ) -> Pending:
        """Start stylizing a frame; ``result()`` of the returned object waits for it.

        Runtimes that run asynchronously (torch-cuda) return at once, so the caller can
        submit the next frame before taking this one's result: that frame's upload then
        overlaps this one's compute. At most ``max_in_flight`` frames of one size may wait;
        take results in submission order. Here: ``infer``, done at once.
        """
        return Ready(self.infer(frame, style, strength, preserve))

    def infer_temporal(
        self, frame: np.ndarray, style: np.ndarray, strength: float, preserve: float,
        state: TemporalInputs,
    ) -> tuple[np.ndarray, TemporalOutputs]:
        """Run ``TemporalFrameGraph``: as ``infer``, plus the temporal cache's state.

        Optional: runtimes that override it set ``supports_temporal``. The graph is built on
        the first call (an ONNX export, seconds, cached on disk); call it from the same
        thread as ``infer``.

        Args:
            frame: (H, W, 3) uint8 RGB, H and W multiples of 4.
            style: (S,) float32.
            strength: in [0, 1].
            preserve: in [0, 1].
            state: arrays at (H/4, W/4), see ``stylecast.temporal.state``.

        Returns:
            The stylized (H, W, 3) uint8 frame, which the caller owns, and the state for the
            next frame. The state's ``features`` may be a view of the runtime's own output
            buffer, valid only until the next ``infer_temporal`` call: the cache consumes
            it (warps it into a new array) before then, and saves a 3.7 MB copy per frame
            at 640x360.

        Raises:
            BackendUnavailable: this runtime has no temporal graph.
        """
        raise BackendUnavailable(f"the {self.name} runtime cannot run the temporal cache "
                                 "yet; use --runtime openvino, onnxruntime or torch, or "
                                 "--no-temporal")

    def temporal_ready(self, height: int, width: int) -> bool:
        """Whether ``infer_temporal`` runs this frame size now, with nothing to build first.

        The cache asks before it runs the temporal graph on a crop of the frame (its region
        path); a crop whose size is not ready is skipped for a whole-frame run, so a build
        never stalls a live frame. Runtimes whose graphs take any size (torch, onnxruntime)
        say True; OpenVINO, which compiles per size, starts the compile in the background
        and says True once it is done; the rest (an engine build per size would take
        minutes) keep this default: never.
        """
        return self.any_size

    def finish_builds(self) -> None:
        """Wait for the compiles ``temporal_ready`` started in the background (none here).

        For measurements of the steady state (``stylecast bench --temporal``); a live frame
        never waits for them.
        """
        return None

    def warmup(self, width: int, height: int) -> None:
        """Run once at this size so the first live frame does not pay for compilation."""
        frame = np.zeros((height, width, 3), dtype=np.uint8)
        style = np.zeros(self.network.spec.num_styles, dtype=np.float32)
        style[0] = 1.0
        self.infer(frame, style, 1.0, 0.0)

    @abc.abstractmethod
    def close(self) -> None:
        """Release the engine; idempotent."""

    @property
    @abc.abstractmethod
    def info(self) -> RuntimeInfo:
        """Name, device and precision actually in use (valid after ``open``)."""
