"""onnxruntime on the CPU (CPUExecutionProvider), f32 only.

The ONNX graph has dynamic height and width and onnxruntime runs it at any size without
recompiling, so one session serves every frame size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stylecast.errors import BackendUnavailable, EngineBuildError
from stylecast.runtime.base import Capabilities, FrameFeeds, Runtime, RuntimeInfo
from stylecast.runtime.graphs import onnx_graph
from stylecast.temporal.state import TemporalInputs, TemporalOutputs

_INSTALL = "pip install onnxruntime"
_PROVIDER = "CPUExecutionProvider"
_REMEDY = ("reinstall the pack if the file is in it, else delete the file to have it "
           "exported again")


def _import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise BackendUnavailable(f"onnxruntime is not installed ({exc}): {_INSTALL}") from exc
    if _PROVIDER not in onnxruntime.get_available_providers():
        raise BackendUnavailable(f"this onnxruntime build has no {_PROVIDER} (it has "
                                 f"{onnxruntime.get_available_providers()}): {_INSTALL}")
    return onnxruntime


class OnnxRuntimeRuntime(Runtime):
    """``FrameGraph`` on onnxruntime's CPU execution provider."""

    name = "onnxruntime"
    device_kind = "cpu"
    any_size = True
    fix_hint = _INSTALL

    _session: Any = None

    @classmethod
    def capabilities(cls) -> Capabilities:
        """The CPU provider runs f32; its fp16/bf16 paths are not faster on CPUs."""
        _import_onnxruntime()
        return Capabilities(device="cpu", precisions=("f32",))

    def open(self) -> None:
        """Take the pack's ONNX graph (or export one) and create the session.

        Raises:
            BackendUnavailable: onnxruntime is missing, or a precision other than f32 was
                asked for.
            EngineBuildError: the graph could not be exported or loaded.
        """
        _import_onnxruntime()
        self.resolved_precision(self.capabilities())
        path = onnx_graph(self.network, self.cache_dir)
        self._session = self._session_for(path)
        self._feeds = FrameFeeds(self.network.spec.num_styles)

    def _session_for(self, path: Any) -> Any:
        ort = _import_onnxruntime()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # 0 means "one per physical core", onnxruntime's own default.
        options.intra_op_num_threads = self.threads or 0
        options.inter_op_num_threads = 1
        state = ort.capi.onnxruntime_pybind11_state  # its exceptions derive from Exception only
        load_errors = (RuntimeError, state.Fail, state.InvalidGraph, state.InvalidProtobuf,
                       state.NoSuchFile, state.RuntimeException)
        try:
            return ort.InferenceSession(str(path), options, providers=[_PROVIDER])
        except load_errors as exc:
            raise EngineBuildError(f"onnxruntime could not load {path}: {exc}; {_REMEDY}") from exc

    def infer(
        self, frame: np.ndarray, style: np.ndarray, strength: float, preserve: float
    ) -> np.ndarray:
        """(H, W, 3) uint8 RGB, H and W multiples of 4; style (S,) float32 -> (H, W, 3) uint8.

        onnxruntime reads C-contiguous numpy inputs in place; the result is a fresh array.
        """
        self.check_inputs(frame, style)
        feeds = self._feeds(frame, style, strength, preserve)
        return self._session.run(None, feeds)[0][0]

    supports_temporal = True
    _temporal_session: Any = None

    def infer_temporal(
        self, frame: np.ndarray, style: np.ndarray, strength: float, preserve: float,
        state: TemporalInputs,
    ) -> tuple[np.ndarray, TemporalOutputs]:
        """``TemporalFrameGraph`` (the pack's, or exported on first use); see
        ``Runtime.infer_temporal``."""
        self.check_inputs(frame, style)
        if self._temporal_session is None:
            path = onnx_graph(self.network, self.cache_dir, temporal=True)
            self._temporal_session = self._session_for(path)
        feeds = {**self._feeds(frame, style, strength, preserve), **state.feeds()}
        out, features, stats = self._temporal_session.run(None, feeds)
        return out[0], TemporalOutputs(features=features, stats=stats)

    def close(self) -> None:
        """Drop the sessions; idempotent."""
        self._session = None
        self._temporal_session = None

    @property
    def info(self) -> RuntimeInfo:
        return RuntimeInfo(name=self.name, device="cpu", precision="f32")
