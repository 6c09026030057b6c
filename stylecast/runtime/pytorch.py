"""PyTorch eager runtime on the CPU: the reference every other runtime is checked against.

The CUDA runtime is ``stylecast.runtime.torch_cuda.runtime``.
"""

from __future__ import annotations

import numpy as np
import torch

from stylecast.errors import BackendUnavailable
from stylecast.model.graph import FrameGraph
from stylecast.model.network import StyleNetwork
from stylecast.runtime.base import Runtime, RuntimeInfo
from stylecast.runtime.graphs import torch_network
from stylecast.temporal.state import TemporalInputs, TemporalOutputs


class TorchRuntime(Runtime):
    """Eager PyTorch under ``inference_mode`` (faster than ``no_grad`` here)."""

    name = "torch"
    device_type = "cpu"
    any_size = True
    _net: StyleNetwork  # the torch module behind ``network``, once open

    def open(self) -> None:
        if self.precision not in ("auto", "f32"):
            raise BackendUnavailable(f"torch CPU runs f32 only; --precision {self.precision} "
                                     "was asked for (try --runtime openvino for bf16)")
        if self.threads:
            torch.set_num_threads(self.threads)
        self.network = self._net = torch_network(self.network)
        self._graph = FrameGraph(self._net).eval()
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

            self._temporal = TemporalFrameGraph(self._net).eval()
        with torch.inference_mode():
            out, features, stats = self._temporal(
                torch.from_numpy(frame)[None], torch.from_numpy(style)[None],
                torch.tensor([strength], dtype=torch.float32),
                torch.tensor([preserve], dtype=torch.float32),
                *(torch.from_numpy(a) for a in state.feeds().values()),
            )
        return out[0].numpy(), TemporalOutputs(features=features.numpy(), stats=stats.numpy())

    def close(self) -> None:
        self._closed = True
        self._temporal = None

    @property
    def info(self) -> RuntimeInfo:
        return RuntimeInfo(name=self.name, device="cpu", precision="f32")
