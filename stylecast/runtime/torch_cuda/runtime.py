"""PyTorch on an NVIDIA GPU: f16 or f32, CUDA graphs, page-locked transfers on own streams.

Per frame: the frame and its controls go into page-locked host buffers of one of the size's
two slots; the *upload* stream copies them to the device, the *compute* stream replays the
CUDA graph captured for that size (or runs the network eagerly), the *download* stream
copies the result back, each ordered by the slot's events (``step.py``). The
calling thread waits for one event, never for the whole device, and gets a copy. ``submit``
returns before the frame is done, so frame N+1's upload overlaps frame N's compute. A new
size is prepared once (warm-up on the side stream, then capture); a style change only
copies values into the controls. docs/TORCH_CUDA.md explains the design and what overlaps
with what.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch

from stylecast.errors import BackendUnavailable, first_line
from stylecast.model.network import StyleNetwork
from stylecast.runtime.base import Capabilities, Runtime, RuntimeInfo
from stylecast.runtime.graphs import torch_network
from stylecast.runtime.torch_cuda.device_graph import DeviceFrameGraph, device_network
from stylecast.runtime.torch_cuda.plan import (
    CUDA_PRECISIONS,
    MAX_SHAPES,
    TORCH_DTYPES,
    HostBufferPool,
    Shape,
    ShapePlanner,
)
from stylecast.runtime.torch_cuda.step import (
    SLOTS,
    CudaPending,
    Slot,
    Step,
    StepFn,
    Streams,
    enqueue,
    fill,
)
from stylecast.temporal.state import TemporalInputs, TemporalOutputs

if TYPE_CHECKING:
    from stylecast.runtime.torch_cuda.temporal import CudaTemporal

logger = logging.getLogger(__name__)

_NO_CUDA = ("torch {version} sees no CUDA device (CPU-only build, no NVIDIA GPU or no "
            "driver); on a GPU machine install the CUDA build of torch, or use --runtime "
            "openvino")
# Warm-up runs before a capture; torch's CUDA-graph notes use 3 (more only for DDP).
WARMUP_RUNS = 3
# Size run once in open() so a GPU torch cannot drive (no kernels for this architecture, a
# broken driver) is reported where "auto" can still move on.
_PROBE_HW = (64, 96)
# What a failing torch.compile raises at its first call: dynamo's and inductor's errors
# derive from RuntimeError; a missing compiler or Triton surfaces as ImportError or OSError.
_COMPILE_ERRORS = (RuntimeError, ImportError, OSError)

class TorchCudaRuntime(Runtime):
    """``FrameGraph``'s computation on the first visible CUDA device (``CUDA_VISIBLE_DEVICES``
    picks it), f16 by default, in a CUDA graph per frame size.

    Args:
        network: the network; a converted copy goes to the GPU, the original stays put.
        precision: "auto" (f16), "f16" or "f32"; anything else is BackendUnavailable, never
            a quiet substitute. f32 runs with TF32 off, so it is f32 throughout.
        threads: unused (the GPU does the work).
        cache_dir: unused.
        cuda_graph: capture each frame size's step in a CUDA graph and replay it: one
            launch per frame instead of one per kernel, which matters most where kernels are
            short (small networks, small sizes). False runs the network eagerly each frame.
        compile: run the network through ``torch.compile`` (off by default: the first frame
            of each size compiles for seconds to minutes). When compiling fails the reason
            is logged once and the network runs uncompiled; ``compile_error`` keeps it.
    """

    name = "torch-cuda"
    device_kind = "cuda"
    fix_hint = "install the CUDA build of torch on a machine with an NVIDIA GPU and driver"
    supports_temporal = True
    option_names = ("cuda_graph", "compile")
    max_in_flight = SLOTS
    # "cpu" only in the tests, which run this orchestration with torch.cuda stood in for.
    _device_type: ClassVar[str] = "cuda"

    def __init__(
        self, *, network: StyleNetwork, precision: str = "auto", threads: int | None = None,
        cache_dir: Path | None = None, cuda_graph: bool = True, compile: bool = False,
    ) -> None:
        super().__init__(network=network, precision=precision, threads=threads,
                         cache_dir=cache_dir)
        self.cuda_graph = cuda_graph
        self.compile = compile
        #: Why torch.compile was abandoned (None: not asked for, or it works).
        self.compile_error: str | None = None
        #: Why CUDA-graph capture was abandoned (None: not asked for, or it works).
        self.graph_error: str | None = None
        self._precision = "f16"
        self._device_name = "cuda"
        self._planner = ShapePlanner(MAX_SHAPES)
        self._steps: dict[Shape, Step] = {}
        self._pool: HostBufferPool | None = None
        self._eager: DeviceFrameGraph | None = None
        self._module: StepFn | None = None
        self._temporal: CudaTemporal | None = None
        self._captures = 0

    @classmethod
    def capabilities(cls) -> Capabilities:
        """The first CUDA device, f16 then f32; BackendUnavailable when torch sees none."""
        if not torch.cuda.is_available():
            raise BackendUnavailable(_NO_CUDA.format(version=torch.__version__))
        return Capabilities(device=f"cuda: {torch.cuda.get_device_name(0)}",
                            precisions=CUDA_PRECISIONS)

    # -- lifecycle ------------------------------------------------------------------------

    def open(self) -> None:
        caps = self.capabilities()
        self.network = self._net = torch_network(self.network)
        self._precision = self.resolved_precision(caps)
        self._device_name = caps.device
        self._dtype = TORCH_DTYPES[self._precision]
        self._device = torch.device(self._device_type, 0)
        try:
            self._upload = torch.cuda.Stream(self._device)
            self._compute = torch.cuda.Stream(self._device)
            self._download = torch.cuda.Stream(self._device)
            # Weights converted to the compute dtype once, here.
            network = device_network(self.network, self._dtype, self._device)
            eager = DeviceFrameGraph(network, self._dtype).eval()
            self._probe(eager)
        except RuntimeError as exc:  # CUDA errors (no kernel image, driver, memory)
            self.close()
            raise BackendUnavailable(
                f"torch-cuda could not run on {caps.device}: {first_line(exc)}; check the "
                "driver and that this torch build supports the GPU, or use --runtime "
                "openvino") from exc
        self._eager = self._module = eager
        if self.compile:
            self._module = self._compiled(eager)
        # Three host buffers per slot, two slots per size.
        self._pool = HostBufferPool(pin_memory=self._device.type == "cuda",
                                    max_buffers=3 * SLOTS * MAX_SHAPES)

    def _compiled(self, eager: DeviceFrameGraph) -> StepFn:
        try:
            # dynamic=False: each frame size gets its own specialised kernels.
            return torch.compile(eager, dynamic=False)
        except _COMPILE_ERRORS as exc:  # unsupported Python, say; most fail at first call
            self._compile_failed(exc)
            return eager

    def _compile_failed(self, exc: BaseException) -> None:
        self.compile_error = first_line(exc)
        logger.warning("torch-cuda: torch.compile failed (%s); running the network "
                       "uncompiled", self.compile_error)

    def _probe(self, eager: DeviceFrameGraph) -> None:
        """One eager run at a small size, waited for, so a broken device fails in open()."""
        frame = torch.zeros((1, *_PROBE_HW, 3), dtype=torch.uint8, device=self._device)
        controls = torch.zeros((1, self.network.spec.num_styles + 2), device=self._device)
        done = torch.cuda.Event()
        with torch.no_grad(), torch.cuda.stream(self._compute), self._cudnn():
            eager(frame, controls)
            done.record(self._compute)
        done.synchronize()

    def close(self) -> None:
        """Release the graphs, buffers and weights; idempotent."""
        for step in self._steps.values():
            for event in step.events():
                self._wait_quietly(event)
        self._steps.clear()
        self._planner.clear()
        if self._pool is not None:
            self._pool.clear()
        self._eager = self._module = self._temporal = None

    @staticmethod
    def _wait_quietly(event: torch.cuda.Event) -> None:
        try:
            event.synchronize()
        except RuntimeError as exc:  # a device fault already reported by infer
            logger.debug("torch-cuda: ignoring an error while closing: %s", exc)

    @property
    def info(self) -> RuntimeInfo:
        return RuntimeInfo(name=self.name, device=self._device_name, precision=self._precision)

    @property
    def mode(self) -> str:
        """How the step runs: "cuda graph" or "eager", with "+ torch.compile" when compiled."""
        graph = "cuda graph" if self.cuda_graph and self.graph_error is None else "eager"
        compiled = self.compile and self.compile_error is None
        return graph + (" + torch.compile" if compiled else "")

    @property
    def captures(self) -> int:
        """CUDA graphs captured so far: one per new frame size; a style change adds none."""
        return self._captures

    # -- one frame ------------------------------------------------------------------------

    def infer(
        self, frame: np.ndarray, style: np.ndarray, strength: float, preserve: float
    ) -> np.ndarray:
        return self.submit(frame, style, strength, preserve).result()

    def submit(
        self, frame: np.ndarray, style: np.ndarray, strength: float, preserve: float
    ) -> CudaPending:
        """Queue one frame on the size's next slot and return at once (``Runtime.submit``).

        Raises:
            RuntimeError: ``max_in_flight`` frames of this size are already waiting.
        """
        module = self._module
        if module is None:
            raise BackendUnavailable("the torch-cuda runtime is not open; call open() first")
        self.check_inputs(frame, style)
        step = self._step_for((frame.shape[0], frame.shape[1]))
        slot = step.next_slot()
        fill(slot, frame, style, strength, preserve)
        enqueue(step, slot, Streams(self._upload, self._compute, self._download), module,
                self._cudnn)
        return CudaPending(slot)

    def _run_step(self, step: Step, module: StepFn) -> None:
        """The compute stage on the current (compute) stream: replay, or run and copy."""
        if step.graph is not None:
            step.graph.replay()
            return
        with self._cudnn():
            step.out.copy_(module(step.frame, step.controls))

    def time_steps(self, height: int, width: int, runs: int) -> list[float]:
        """Device milliseconds of ``runs`` compute stages at a prepared size, CUDA events.

        For ``stylecast bench --gpu``: the compute stage alone (replay or eager run, on the
        graph's static inputs), without the transfers. Waits only for the last event.

        Raises:
            BackendUnavailable: not open, or no frame of this size ran yet.
        """
        step, module = self._steps.get((height, width)), self._module
        if step is None or module is None:
            raise BackendUnavailable(f"torch-cuda has not run a {width}x{height} frame yet; "
                                     "call infer() at that size first")
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                  for _ in range(runs)]
        with torch.no_grad(), torch.cuda.stream(self._compute):
            for start, end in events:
                start.record(self._compute)
                self._run_step(step, module)
                end.record(self._compute)
        events[-1][1].synchronize()
        return [start.elapsed_time(end) for start, end in events]

    # -- preparing a size -----------------------------------------------------------------

    def _step_for(self, shape: Shape) -> Step:
        admission = self._planner.admit(shape)
        for old in admission.evict:
            self._release(old)
        if not admission.prepare:
            return self._steps[shape]
        try:
            step = self._prepare(shape)
        except BaseException:
            self._planner.discard(shape)
            raise
        self._steps[shape] = step
        return step

    def _release(self, shape: Shape) -> None:
        step = self._steps.pop(shape, None)
        if step is not None:
            for event in step.events():
                event.synchronize()  # its last use; then its memory may go
        if self._pool is not None:
            self._pool.release(shape)

    def _prepare(self, shape: Shape) -> Step:
        pool = self._pool
        if pool is None:
            raise BackendUnavailable("the torch-cuda runtime is not open; call open() first")
        height, width = shape
        controls = self.network.spec.num_styles + 2
        shapes = {"frame": ((1, height, width, 3), torch.uint8),
                  "controls": ((1, controls), torch.float32),
                  "out": ((1, height, width, 3), torch.uint8)}

        def device(name: str) -> torch.Tensor:
            size, dtype = shapes[name]
            return torch.zeros(size, dtype=dtype, device=self._device)

        def host(name: str, index: int) -> torch.Tensor:
            size, dtype = shapes[name]
            return pool.get(shape, f"{name}{index}", size[1:], dtype)

        with torch.cuda.stream(self._compute):
            slots = [Slot(host_frame=host("frame", i), host_controls=host("controls", i),
                          host_out=host("out", i), frame=device("frame"),
                          controls=device("controls"), out=device("out"))
                     for i in range(SLOTS)]
            step = Step(frame=device("frame"), controls=device("controls"), out=device("out"),
                        slots=slots)
        self._warm_up(step)
        if self.cuda_graph and self.graph_error is None:
            self._capture(step, self._step_fn())
        logger.debug("torch-cuda: prepared %dx%d (%s)", width, height, self.mode)
        return step

    def _warm_up(self, step: Step) -> None:
        """Warm-up runs on the compute stream; if torch.compile fails, fall back once."""
        try:
            self._warm_up_runs(step, self._step_fn())
        except _COMPILE_ERRORS as exc:
            if self._module is self._eager or isinstance(exc, torch.OutOfMemoryError):
                raise
            self._compile_failed(exc)
            self._module = self._eager
            self._warm_up_runs(step, self._step_fn())

    def _step_fn(self) -> StepFn:
        module = self._module
        if module is None:
            raise BackendUnavailable("the torch-cuda runtime is not open; call open() first")
        return module

    def _warm_up_runs(self, step: Step, module: StepFn) -> None:
        self._compute.wait_stream(torch.cuda.current_stream(self._device))
        with torch.no_grad(), torch.cuda.stream(self._compute), self._cudnn():
            for _ in range(WARMUP_RUNS):
                step.out.copy_(module(step.frame, step.controls))
        torch.cuda.current_stream(self._device).wait_stream(self._compute)

    def _capture(self, step: Step, module: StepFn) -> None:
        """Capture the step; on failure log why and leave this runtime eager."""
        graph = torch.cuda.CUDAGraph()
        try:
            # thread_local: CUDA calls of the pipeline's other threads stay legal meanwhile.
            with torch.no_grad(), self._cudnn(), torch.cuda.graph(
                    graph, capture_error_mode="thread_local"):
                out = module(step.frame, step.controls)
        except RuntimeError as exc:
            if isinstance(exc, torch.OutOfMemoryError):
                raise
            self.graph_error = first_line(exc)
            logger.warning("torch-cuda: CUDA graph capture failed (%s); running eagerly",
                           self.graph_error)
            return
        step.graph, step.out = graph, out
        self._captures += 1

    @contextlib.contextmanager
    def _cudnn(self) -> Iterator[None]:
        """cuDNN for this runtime's calls: autotuned per shape (shapes are fixed per step),
        and no TF32 when f32 was asked for (torch's default would quietly use it)."""
        with torch.backends.cudnn.flags(enabled=True, benchmark=True, deterministic=False,
                                        allow_tf32=self._precision != "f32"):
            yield

    # -- temporal cache -------------------------------------------------------------------

    def infer_temporal(
        self, frame: np.ndarray, style: np.ndarray, strength: float, preserve: float,
        state: TemporalInputs,
    ) -> tuple[np.ndarray, TemporalOutputs]:
        """``TemporalFrameGraph`` eagerly on the compute stream, under f16 autocast when the
        runtime runs f16 (see ``temporal.py`` beside this); as ``Runtime.infer_temporal``."""
        if self._module is None:
            raise BackendUnavailable("the torch-cuda runtime is not open; call open() first")
        self.check_inputs(frame, style)
        if self._temporal is None:
            from stylecast.runtime.torch_cuda.temporal import CudaTemporal

            self._temporal = CudaTemporal(self._net, self._device,
                                          f16=self._precision == "f16")
        return self._temporal.run(self._compute, self._cudnn(), frame, style, strength,
                                  preserve, state)
