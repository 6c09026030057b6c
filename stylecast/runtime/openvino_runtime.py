"""OpenVINO on the CPU: the fastest CPU runtime measured here, and the only one with bf16.

OpenVINO picks bf16 by itself on CPUs that have it, and on CPUs that do not it quietly runs
f32 when bf16 is asked for. So the precision hint is always set explicitly, bf16 is offered
only when the CPU reports it, and after compiling the precision actually in effect is read
back and checked (../shared/notes/cpu-inference-and-packaging.md).

The ONNX graph has dynamic height and width; each frame size gets its own static reshape
and compile (a fraction of a second, and live sizes rarely change), kept in a small LRU.
Crops of the frame (the temporal cache's region path) share one compile for any size
instead, prepared per crop size in the background (see ``temporal_ready``).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from stylecast.errors import BackendUnavailable, EngineBuildError
from stylecast.runtime.base import Capabilities, FrameFeeds, Runtime, RuntimeInfo
from stylecast.runtime.graphs import onnx_graph
from stylecast.temporal.state import TemporalInputs, TemporalOutputs

logger = logging.getLogger(__name__)

_INSTALL = "pip install openvino"
_REMEDY = ("reinstall the pack if the file is in it, else delete the file to have it "
           "exported again")
# OpenVINO's names for our precisions (its Type.to_string() gives the same names back).
_OV_PRECISION = {"f32": "f32", "bf16": "bf16"}
# Compiled sizes kept at once; a resolution switch back and forth stays cheap.
_MAX_SIZES = 4
# Frame sizes the temporal graph is compiled for at once, each for its own size (fastest).
# Crops of the frame (the cache's region path) all run on one more compile of it for any
# height and width: every compile holds ~23 MB whatever its size (measured, 480x268 bf16,
# half of it the fused kernels OpenVINO generates per compile), and crops come in up to
# ~50 sizes per frame size, so one compile per crop size grew a long show by ~23 MB per
# new size (issue #23). A crop size costs the shared compile ~1-2 MB of kernels instead.
_MAX_TEMPORAL_SIZES = 4
# Crop sizes remembered as crops (each a few bytes; its kernels live in OpenVINO's own
# bounded caches). Past this, the least recently used is forgotten and, if asked for
# again, prepared again.
_MAX_CROP_SIZES = 256
# Size compiled during open(), so build and precision failures surface there, where "auto"
# can still move on, rather than on the first live frame. It is the control page's
# thumbnail size (stylecast.control.controller.THUMB_SIZE), so opening the page mid-show
# never compiles under the live inference lock.
_PROBE_HW = (108, 192)


def _import_openvino() -> Any:
    try:
        import openvino
    except ImportError as exc:
        raise BackendUnavailable(f"OpenVINO is not installed ({exc}): {_INSTALL}") from exc
    return openvino


class OpenVinoRuntime(Runtime):
    """``FrameGraph`` compiled by OpenVINO for the CPU, f32 or bf16."""

    name = "openvino"
    device_kind = "cpu"
    fix_hint = _INSTALL

    _core: Any = None
    _model: Any = None
    _precision: str = "f32"
    _device_name: str = "cpu"

    @classmethod
    def capabilities(cls) -> Capabilities:
        """CPU name and precisions; bf16 first when the CPU reports native BF16."""
        ov = _import_openvino()
        core = ov.Core()
        if "CPU" not in core.available_devices:
            raise BackendUnavailable(f"OpenVINO sees no CPU device (found "
                                     f"{core.available_devices}); reinstall: {_INSTALL}")
        return cls._capabilities_of(core)

    @staticmethod
    def _capabilities_of(core: Any) -> Capabilities:
        flags = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        device = f"cpu: {core.get_property('CPU', 'FULL_DEVICE_NAME')}"
        precisions = ("bf16", "f32") if "BF16" in flags else ("f32",)
        return Capabilities(device=device, precisions=precisions)

    def open(self) -> None:
        """Take the pack's ONNX graph (or export one), read it and compile it once at a
        probe size.

        Raises:
            BackendUnavailable: OpenVINO is missing, or the precision asked for cannot run
                on this CPU.
            EngineBuildError: the graph could not be exported or read.
        """
        ov = _import_openvino()
        self._core = ov.Core()
        caps = self._capabilities_of(self._core)
        self._precision = self.resolved_precision(caps)
        self._device_name = caps.device
        path = onnx_graph(self.network, self.cache_dir)
        try:
            self._model = self._core.read_model(str(path))
        except RuntimeError as exc:
            raise EngineBuildError(f"OpenVINO could not read {path}: {exc}; {_REMEDY}") from exc
        self._compiled: OrderedDict[tuple[int, int], tuple[Any, Any]] = OrderedDict()
        self._feeds = FrameFeeds(self.network.spec.num_styles)
        self._request_for(*_PROBE_HW)

    def _config(self) -> dict[str, str]:
        config = {
            "INFERENCE_PRECISION_HINT": _OV_PRECISION[self._precision],
            "PERFORMANCE_HINT": "LATENCY",
        }
        if self.threads:
            config["INFERENCE_NUM_THREADS"] = str(self.threads)
        return config

    def _compile(self, model: Any, shapes: dict[str, list[int]], what: str, width: int,
                 height: int) -> Any:
        """Reshape and compile ``model``; refuse a precision other than the one asked for."""
        try:
            model.reshape(shapes)
            compiled = self._core.compile_model(model, "CPU", self._config())
        except RuntimeError as exc:
            raise EngineBuildError(f"OpenVINO could not compile the {what} for "
                                   f"{_size_text(width, height)} at {self._precision}: "
                                   f"{exc}") from exc
        in_effect = compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
        if in_effect != self._precision:
            # OpenVINO falls back silently; stylecast does not.
            raise BackendUnavailable(f"OpenVINO compiled at {in_effect}, not the {self._precision} "
                                     "asked for; ask for --precision f32")
        logger.debug("OpenVINO compiled the %s for %s, %s", what, _size_text(width, height),
                     in_effect)
        return compiled

    def _request_for(self, height: int, width: int) -> Any:
        key = (height, width)
        entry = self._compiled.get(key)
        if entry is not None:
            self._compiled.move_to_end(key)
            return entry[1]
        compiled = self._compile(self._model, {"frame": [1, height, width, 3]}, "graph",
                                 width, height)
        entry = (compiled, compiled.create_infer_request())
        self._compiled[key] = entry
        if len(self._compiled) > _MAX_SIZES:
            self._compiled.popitem(last=False)
        return entry[1]

    def infer(
        self, frame: np.ndarray, style: np.ndarray, strength: float, preserve: float
    ) -> np.ndarray:
        """(H, W, 3) uint8 RGB, H and W multiples of 4; style (S,) float32 -> (H, W, 3) uint8.

        The frame is handed to OpenVINO without a copy when it is C-contiguous; the result
        is a fresh array the caller owns.
        """
        self.check_inputs(frame, style)
        request = self._request_for(frame.shape[0], frame.shape[1])
        inputs = self._feeds(frame, style, strength, preserve)
        # share_inputs wraps the numpy buffers; the default (unshared) output is a copy, so
        # the next infer cannot overwrite a frame still waiting in an output queue.
        result = request.infer(inputs, share_inputs=True)
        return result[0][0]

    supports_temporal = True
    _temporal_model: Any = None
    _builder: ThreadPoolExecutor | None = None

    def _temporal_graph(self) -> Any:
        """The temporal graph as read by OpenVINO (the pack's, or exported; on first use)."""
        if self._temporal_model is None:
            path = onnx_graph(self.network, self.cache_dir, temporal=True)
            try:
                self._temporal_model = self._core.read_model(str(path))
            except RuntimeError as exc:
                raise EngineBuildError(f"OpenVINO could not read {path}: {exc}; "
                                       f"{_REMEDY}") from exc
            self._temporal_compiled: OrderedDict[tuple[int, int], Any] = OrderedDict()
            self._building: dict[tuple[int, int], Future[Any]] = {}
            self._unbuildable: set[tuple[int, int]] = set()
            # reshape() changes the one model in place: one compile at a time.
            self._compile_lock = threading.Lock()
            self._crops: OrderedDict[tuple[int, int], None] = OrderedDict()  # ready sizes
            self._crop_graph: tuple[Any, Any, Any] | None = None  # compiled, live, builder
        return self._temporal_model

    def _compile_temporal(self, height: int, width: int) -> Any:
        """An infer request for the temporal graph at one frame size."""
        model = self._temporal_graph()
        h, w = height // 4, width // 4
        channels = self.network.spec.channels
        shapes = {"frame": [1, height, width, 3], "prev_feats": [1, h, w, channels],
                  "confidence": [1, 1, h, w]}
        with self._compile_lock:
            compiled = self._compile(model, shapes, "temporal graph", width, height)
        return compiled.create_infer_request()

    def _keep_temporal(self, key: tuple[int, int], request: Any) -> None:
        self._temporal_compiled[key] = request
        if len(self._temporal_compiled) > _MAX_TEMPORAL_SIZES:
            self._temporal_compiled.popitem(last=False)

    def _temporal_request_for(self, height: int, width: int) -> Any:
        """The temporal graph's request for this size: the crop graph's for a crop size
        ``temporal_ready`` prepared, else the one compiled for this frame size (compiled
        here if not yet)."""
        self._temporal_graph()
        key = (height, width)
        if key in self._building:  # a crop size still being prepared: wait for it
            futures.wait([self._building[key]])
            self.temporal_ready(height, width)
        if key in self._crops and self._crop_graph is not None:
            self._crops.move_to_end(key)
            return self._crop_graph[1]
        request = self._temporal_compiled.get(key)
        if request is not None:
            self._temporal_compiled.move_to_end(key)
            return request
        request = self._compile_temporal(height, width)
        self._keep_temporal(key, request)
        return request

    def finish_builds(self) -> None:
        """Wait for the crop sizes being prepared in the background; see
        ``Runtime.finish_builds``."""
        futures.wait(list(self._building.values()))

    def temporal_ready(self, height: int, width: int) -> bool:
        """True once crops of this size can run; else their preparation starts on a
        background thread and this says False meanwhile. See ``Runtime.temporal_ready``.

        Preparing a size: the crop graph (the temporal graph compiled once for any height
        and width, on the first size asked for) runs once at it, which makes OpenVINO
        create and cache its kernels for that shape (tens of ms) off the live thread. The
        cache asks for every crop size of its frame size on its first frame
        (``TemporalCache``), so they are all ready, and the memory they take is taken,
        within a second or two of the start, not over the show.
        """
        self._temporal_graph()
        key = (height, width)
        if key in self._crops:
            return True
        if key in self._unbuildable:
            return False
        future = self._building.get(key)
        if future is None:
            if self._builder is None:
                self._builder = ThreadPoolExecutor(1, thread_name_prefix="openvino-compile")
            self._building[key] = self._builder.submit(self._prepare_crop, height, width)
            return False
        if not future.done():
            return False
        del self._building[key]
        try:
            future.result()
        except (EngineBuildError, BackendUnavailable) as exc:
            # Not fatal: the cache runs whole frames instead. Never retried.
            logger.warning("the temporal graph did not compile at %dx%d; frames of that "
                           "crop run whole: %s", width, height, exc)
            self._unbuildable.add(key)
            return False
        self._crops[key] = None
        if len(self._crops) > _MAX_CROP_SIZES:
            self._crops.popitem(last=False)
        return True

    def _prepare_crop(self, height: int, width: int) -> None:
        """On the builder thread: compile the crop graph if not yet, then run it once at
        this size on the builder's own request (zeros in, result dropped)."""
        with self._compile_lock:
            if self._crop_graph is None:
                channels = self.network.spec.channels
                shapes = {"frame": [1, -1, -1, 3], "prev_feats": [1, -1, -1, channels],
                          "confidence": [1, 1, -1, -1]}
                compiled = self._compile(self._temporal_graph(), shapes,
                                         "temporal graph for crops", -1, -1)
                self._crop_graph = (compiled, compiled.create_infer_request(),
                                    compiled.create_infer_request())
            graph = self._crop_graph
        stats = graph[0].input("prev_stats").get_partial_shape()[2].get_length()
        state = TemporalInputs.empty(self.network.spec.channels, stats, height // 4, width // 4)
        style = np.zeros(self.network.spec.num_styles, np.float32)
        inputs = {**FrameFeeds(len(style))(np.zeros((height, width, 3), np.uint8), style,
                                           1.0, 0.0), **state.feeds()}
        try:
            graph[2].infer(inputs, share_inputs=True, share_outputs=True)
        except RuntimeError as exc:
            raise EngineBuildError(f"OpenVINO could not run the temporal graph for crops "
                                   f"at {width}x{height}: {exc}") from exc

    def infer_temporal(
        self, frame: np.ndarray, style: np.ndarray, strength: float, preserve: float,
        state: TemporalInputs,
    ) -> tuple[np.ndarray, TemporalOutputs]:
        """``TemporalFrameGraph`` compiled per frame size; see ``Runtime.infer_temporal``.

        The stylized frame and the statistics are copies the caller owns; the features are
        a view of the request's output buffer (the next call overwrites them). Copying all
        outputs cost ~1 ms per frame at 640x360, the whole of the temporal graph's extra
        cost over the plain graph.
        """
        self.check_inputs(frame, style)
        request = self._temporal_request_for(frame.shape[0], frame.shape[1])
        inputs = {**self._feeds(frame, style, strength, preserve), **state.feeds()}
        result = request.infer(inputs, share_inputs=True, share_outputs=True)
        # The statistics are fed back as an input next frame: never alias them.
        return result[0][0].copy(), TemporalOutputs(features=result[1], stats=result[2].copy())

    def close(self) -> None:
        """Drop compiled models and infer requests; idempotent."""
        if self._builder is not None:
            self._builder.shutdown(wait=True, cancel_futures=True)
            self._builder = None
        self._temporal_model = None
        self._temporal_compiled = OrderedDict()
        self._crops = OrderedDict()
        self._crop_graph = None
        self._building = {}
        self._compiled = OrderedDict()
        self._model = None
        self._core = None

    @property
    def info(self) -> RuntimeInfo:
        return RuntimeInfo(name=self.name, device=self._device_name, precision=self._precision)


def _size_text(width: int, height: int) -> str:
    """``WxH``, or "any size" for the crop graph's dynamic dimensions (-1)."""
    return "any size" if width < 0 or height < 0 else f"{width}x{height}"
