"""PyTorch eager runtime, CPU or CUDA: the reference every other runtime is checked against."""

from __future__ import annotations

import copy

import numpy as np
import torch

from stylecast.errors import BackendUnavailable
from stylecast.model.graph import FrameGraph
from stylecast.runtime.base import Capabilities, Runtime, RuntimeInfo, resolve_precision
from stylecast.temporal.state import TemporalInputs, TemporalOutputs


class TorchRuntime(Runtime):
    """Eager PyTorch under ``inference_mode`` (faster than ``no_grad`` here)."""

    name = "torch"
    device_type = "cpu"

    def open(self) -> None:
        if self.precision not in ("auto", "f32"):
            raise BackendUnavailable(f"torch CPU runs f32 only; --precision {self.precision} "
                                     "was asked for (try --runtime openvino for bf16)")
        if self.threads:
            torch.set_num_threads(self.threads)
        self._graph = FrameGraph(self.network).eval()
        self._closed = False

    def infer(
        self, frame: np.ndarray, style: np.ndarray, strength: float, preserve: float
    ) -> np.ndarray:
        with torch.inference_mode():
            out = self._graph(
                torch.from_numpy(frame)[None], torch.from_numpy(style)[None],
                torch.tensor([strength], dtype=torch.float32),
                torch.tensor([preserve], dtype=torch.float32),
            )
        return out[0].numpy()

    supports_temporal = True
    _temporal: torch.nn.Module | None = None

    def infer_temporal(
        self, frame: np.ndarray, style: np.ndarray, strength: float, preserve: float,
        state: TemporalInputs,
    ) -> tuple[np.ndarray, TemporalOutputs]:
        """``TemporalFrameGraph`` in eager mode; see ``Runtime.infer_temporal``."""
        if self._temporal is None:
            from stylecast.temporal.graph import TemporalFrameGraph

            self._temporal = TemporalFrameGraph(self.network).eval()
        with torch.inference_mode():
            out, features, stats = self._temporal(
                torch.from_numpy(frame)[None], torch.from_numpy(style)[None],
                torch.tensor([strength], dtype=torch.float32),
                torch.tensor([preserve], dtype=torch.float32),
                torch.from_numpy(state.prev_feats), torch.from_numpy(state.prev_out),
                torch.from_numpy(state.flow),
                torch.from_numpy(state.confidence), torch.from_numpy(state.prev_stats),
                torch.from_numpy(state.stat_rate),
            )
        return out[0].numpy(), TemporalOutputs(features=features.numpy(), stats=stats.numpy())

    def close(self) -> None:
        self._closed = True
        self._temporal = None

    @property
    def info(self) -> RuntimeInfo:
        return RuntimeInfo(name=self.name, device="cpu", precision="f32")


class TorchCudaRuntime(Runtime):
    """Eager PyTorch on the first CUDA device, f32.

    A placeholder the GPU work will flesh out (f16, CUDA graphs, pinned transfers); it runs
    correctly now so that "auto" can pick it on a GPU machine without TensorRT.
    """

    name = "torch-cuda"
    device_kind = "cuda"
    fix_hint = "install the CUDA build of torch on a machine with an NVIDIA GPU and driver"

    _graph: FrameGraph | None = None
    _precision = "f32"
    _device_name = "cuda"

    @classmethod
    def capabilities(cls) -> Capabilities:
        """The first CUDA device, f32; BackendUnavailable when torch sees no CUDA device."""
        if not torch.cuda.is_available():
            raise BackendUnavailable(
                f"torch {torch.__version__} sees no CUDA device (CPU-only build, no NVIDIA GPU "
                "or no driver); on a GPU machine install the CUDA build of torch, or use "
                "--runtime openvino"
            )
        return Capabilities(device=f"cuda: {torch.cuda.get_device_name(0)}", precisions=("f32",))

    def open(self) -> None:
        caps = self.capabilities()
        self._precision = resolve_precision(self.name, self.precision, caps)
        self._device_name = caps.device
        self._device = torch.device("cuda", 0)
        # A copy, so the caller's network stays where it was (usually the CPU).
        self._graph = FrameGraph(copy.deepcopy(self.network)).to(self._device).eval()

    def infer(
        self, frame: np.ndarray, style: np.ndarray, strength: float, preserve: float
    ) -> np.ndarray:
        graph, device = self._graph, self._device
        if graph is None:
            raise BackendUnavailable("the torch-cuda runtime is not open; call open() first")
        with torch.inference_mode():
            out = graph(
                torch.from_numpy(frame)[None].to(device), torch.from_numpy(style)[None].to(device),
                torch.tensor([strength], dtype=torch.float32, device=device),
                torch.tensor([preserve], dtype=torch.float32, device=device),
            )
        # .cpu() waits for this frame's kernels only; no device-wide synchronize.
        return out[0].cpu().numpy()

    def close(self) -> None:
        self._graph = None

    @property
    def info(self) -> RuntimeInfo:
        return RuntimeInfo(name=self.name, device=self._device_name, precision=self._precision)
