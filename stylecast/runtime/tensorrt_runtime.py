"""TensorRT slot: reports why it cannot run; the GPU work builds the real engine here.

TensorRT is an optional extra that only installs from NVIDIA's own index, so every failure
mode (not installed, no GPU, not built yet) ends in BackendUnavailable with a clear reason,
and "auto" moves on to the next runtime.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stylecast.errors import BackendUnavailable
from stylecast.runtime.base import Capabilities, Runtime, RuntimeInfo

_INSTALL = "pip install 'stylecast[tensorrt]' on a machine with an NVIDIA GPU"


def _import_tensorrt() -> Any:
    try:
        import tensorrt
    except (ImportError, OSError) as exc:  # OSError: the wheel is there, its CUDA libs are not
        raise BackendUnavailable(f"TensorRT is not installed ({exc}): {_INSTALL}") from exc
    return tensorrt


class TensorRTRuntime(Runtime):
    """Placeholder for a TensorRT engine built from the exported ONNX graph."""

    name = "tensorrt"
    device_kind = "cuda"
    fix_hint = _INSTALL

    @classmethod
    def capabilities(cls) -> Capabilities:
        """Raises BackendUnavailable: TensorRT missing, no CUDA device, or not built yet."""
        trt = _import_tensorrt()
        import torch  # only to ask for a CUDA device; already imported by the network

        if not torch.cuda.is_available():
            raise BackendUnavailable(
                f"TensorRT {trt.__version__} is installed but there is no usable NVIDIA GPU "
                "(torch sees no CUDA device); use --runtime openvino on this machine"
            )
        raise BackendUnavailable(
            f"the TensorRT runtime is not implemented in this stylecast version (TensorRT "
            f"{trt.__version__} and {torch.cuda.get_device_name(0)} were found); use "
            "--runtime torch-cuda"
        )

    def open(self) -> None:
        """Always raises BackendUnavailable for now, with the reason from ``capabilities``."""
        self.capabilities()

    def infer(
        self, frame: np.ndarray, style: np.ndarray, strength: float, preserve: float
    ) -> np.ndarray:
        raise BackendUnavailable("the TensorRT runtime is not open; open() must succeed first")

    def close(self) -> None:
        """Nothing to release yet; idempotent."""

    @property
    def info(self) -> RuntimeInfo:
        return RuntimeInfo(name=self.name, device=self.device_kind, precision=self.precision)
