"""TensorRT on an NVIDIA GPU: ``FrameGraph`` and the temporal graph as cached engines.

The exported ONNX graph (dynamic height and width; the style vector, the controls and the
temporal state are inputs, so one engine serves every style) is built into a TensorRT engine
once per GPU, TensorRT version, network, precision and frame-size profile, and cached with a
metadata header (``engine_cache``). ``stylecast build-engine`` builds one ahead of time for
the sizes you ask; ``open()`` uses a cached engine for this setup, or builds one for 720p
(1080p at most) and says so. Device buffers are torch CUDA tensors and inference runs on a
torch CUDA stream, so no other CUDA binding is needed.

Everything that is not a TensorRT call (profiles, bindings, key, header) lives in
``plan`` and ``engine_cache`` and is tested without TensorRT; the engine build
(parser, profile, timing cache, progress) is ``build``, handed the module imported
here. This file is written
against TensorRT 10's documented Python API but has NOT been run against a real TensorRT:
none could be installed on the machines this was developed on (see README).

TensorRT is an optional extra that only installs from NVIDIA's own index, so every failure
mode (not installed, no GPU, parse or build failure) ends in BackendUnavailable or
EngineBuildError with the reason, and "auto" moves on to the next runtime.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stylecast.errors import BackendUnavailable, ConfigError, EngineBuildError, RuntimeFailed
from stylecast.model.network import StyleNetwork
from stylecast.runtime.base import Capabilities, FrameFeeds, Runtime, RuntimeInfo
from stylecast.runtime.graphs import torch_network
from stylecast.runtime.tensorrt import build
from stylecast.runtime.tensorrt import engine_cache as cache
from stylecast.runtime.tensorrt.plan import (
    DEFAULT_SIZES,
    BindingPlan,
    GraphIO,
    ShapeProfile,
    expected_tensors,
    format_size,
    plan_bindings,
    profile_from_sizes,
)
from stylecast.temporal.state import TemporalInputs, TemporalOutputs

logger = logging.getLogger(__name__)

_INSTALL = "pip install 'stylecast[tensorrt]' on a machine with an NVIDIA GPU"
#: Workspace limit when the runtime builds an engine itself.
DEFAULT_WORKSPACE_BYTES = 2 * 2**30
_TORCH_DTYPES = {"uint8": torch.uint8, "float32": torch.float32, "float16": torch.float16}


def _import_tensorrt() -> Any:
    try:
        import tensorrt
    except (ImportError, OSError) as exc:  # OSError: the wheel is there, its CUDA libs are not
        raise BackendUnavailable(f"TensorRT is not installed ({exc}): {_INSTALL}") from exc
    return tensorrt


def _machine(trt: Any) -> dict[str, str]:
    major, minor = torch.cuda.get_device_capability(0)
    return {"gpu_name": torch.cuda.get_device_name(0),
            "compute_capability": f"{major}.{minor}", "tensorrt_version": trt.__version__}


def _graph_io(network: StyleNetwork, temporal: bool) -> GraphIO:
    return expected_tensors(num_styles=network.spec.num_styles, channels=network.spec.channels,
                            stats_channels=network.stats_channels, temporal=temporal)


def build_engine_file(
    network: StyleNetwork, *, precision: str, profile: ShapeProfile, temporal: bool,
    workspace_bytes: int = DEFAULT_WORKSPACE_BYTES, cache_dir: Path | None = None,
    force: bool = False,
) -> tuple[Path, bool]:
    """Build (or find) the engine of ``network`` for this GPU and cache it.

    Args:
        network: the network; exported to ONNX first (cached).
        precision: "f16" or "f32".
        profile: frame sizes the engine accepts.
        temporal: build ``TemporalFrameGraph`` instead of ``FrameGraph``.
        workspace_bytes: TensorRT's workspace memory-pool limit.
        cache_dir: root of the stylecast cache; the user cache directory when None.
        force: rebuild even when a valid engine with this key is cached.

    Returns:
        The engine's path and whether it was built now (False: it was already cached).

    Raises:
        BackendUnavailable: no TensorRT or no usable NVIDIA GPU.
        ConfigError: a precision other than f16/f32, or a workspace that is not positive.
        EngineBuildError: export, parse or build failed, or a cached file is damaged.
    """
    trt = _import_tensorrt()
    TensorRTRuntime.capabilities()
    if precision not in ("f16", "f32"):
        raise ConfigError(f"TensorRT engines are built at f16 or f32, not {precision!r}")
    if workspace_bytes <= 0:
        raise ConfigError(f"the workspace limit must be positive; got {workspace_bytes} bytes")
    key = cache.key_for(network, **_machine(trt), precision=precision, profile=profile,
                        temporal=temporal, workspace_bytes=workspace_bytes, cache_dir=cache_dir)
    path = cache.engine_path(key, cache_dir)
    if path.is_file() and not force:
        cache.read_engine(path, key)  # a damaged file says so here, not at the next run
        return path, False
    if temporal:
        from stylecast.model.export import export_temporal_onnx

        onnx_file = export_temporal_onnx(network, cache_dir)
    else:
        from stylecast.model.export import export_onnx

        onnx_file = export_onnx(network, cache_dir)
    data = build.build_serialized(trt, onnx_file, key, _graph_io(network, temporal), cache_dir)
    return cache.write_engine(path, key, data), True


class _Session:
    """One deserialized engine with its context, binding plan and device buffers."""

    def __init__(self, trt: Any, data: bytes, io: GraphIO, key: cache.EngineKey) -> None:
        self._logger = build.make_logger(trt)
        self._runtime = trt.Runtime(self._logger)
        self.engine = self._runtime.deserialize_cuda_engine(data)
        if self.engine is None:
            raise EngineBuildError(
                f"TensorRT {trt.__version__} could not load the engine: "
                f"{'; '.join(self._logger.errors) or 'no details'}. Rebuild it: "
                f"{key.rebuild_command()}")
        self.plan: BindingPlan = plan_bindings(build.engine_tensors(trt, self.engine), io,
                                               rebuild=key.rebuild_command())
        self.context = self.engine.create_execution_context()
        if self.context is None:
            raise EngineBuildError("TensorRT could not create an execution context (out of GPU "
                                   "memory?); close other GPU programs or use a smaller network")
        self.key = key
        self._dtypes = {s.name: s.dtype for s in (*self.plan.inputs, *self.plan.outputs)}
        self._buffers: dict[str, torch.Tensor] = {}
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._size: tuple[int, int] | None = None

    def _bind(self, height: int, width: int) -> None:
        """Set input shapes and point every tensor at a torch CUDA buffer of its size."""
        shapes = self.plan.shapes(height, width)
        for spec in self.plan.inputs:
            if not self.context.set_input_shape(spec.name, shapes[spec.name]):
                raise RuntimeFailed(f"TensorRT refused shape {shapes[spec.name]} for "
                                    f"{spec.name!r} (engine profile {self.key.profile.describe()})")
        buffers = {}
        for spec in (*self.plan.inputs, *self.plan.outputs):
            tensor = torch.empty(shapes[spec.name], dtype=_TORCH_DTYPES[spec.dtype],
                                 device="cuda")
            self.context.set_tensor_address(spec.name, tensor.data_ptr())
            buffers[spec.name] = tensor
        self._buffers, self._shapes, self._size = buffers, shapes, (height, width)

    def run(self, feeds: dict[str, np.ndarray], height: int, width: int,
            stream: torch.cuda.Stream) -> dict[str, np.ndarray]:
        """Copy ``feeds`` in, execute on ``stream``, copy every output out (fresh arrays)."""
        profile = self.key.profile
        if not profile.covers(width, height):
            size = format_size((width, height))
            raise ConfigError(
                f"the TensorRT engine accepts frames of {profile.describe()}, not {size}; "
                f"build one that covers it: stylecast build-engine STYLE --sizes "
                f"{format_size(profile.opt)},{size}{' --temporal' if self.key.temporal else ''}")
        if self._size != (height, width):
            self._bind(height, width)
        for name, array in feeds.items():
            if array.shape != self._shapes[name] or array.dtype.name != self._dtypes[name]:
                raise ValueError(f"TensorRT input {name} must be {self._shapes[name]} "
                                 f"{self._dtypes[name]} for a {width}x{height} frame; got "
                                 f"{array.shape} {array.dtype}")
        with torch.cuda.stream(stream):
            for name, array in feeds.items():
                self._buffers[name].copy_(torch.from_numpy(array))
            if not self.context.execute_async_v3(stream.cuda_stream):
                raise RuntimeFailed("TensorRT failed to enqueue the engine (see its messages "
                                    "above)")
            # .cpu() waits for this stream only: no device-wide synchronize.
            return {s.name: self._buffers[s.name].cpu().numpy() for s in self.plan.outputs}


class TensorRTRuntime(Runtime):
    """``FrameGraph`` (and ``TemporalFrameGraph``) as TensorRT engines, f16 or f32."""

    name = "tensorrt"
    device_kind = "cuda"
    fix_hint = _INSTALL
    supports_temporal = True

    _precision = "f16"
    _device_name = "cuda"
    _stream: torch.cuda.Stream | None = None
    _trt: Any = None

    @classmethod
    def capabilities(cls) -> Capabilities:
        """The first CUDA device and TensorRT's version; f16 preferred from Volta on.

        Raises:
            BackendUnavailable: TensorRT is missing or torch sees no CUDA device.
        """
        trt = _import_tensorrt()
        if not torch.cuda.is_available():
            raise BackendUnavailable(
                f"TensorRT {trt.__version__} is installed but there is no usable NVIDIA GPU "
                "(torch sees no CUDA device); use --runtime openvino on this machine"
            )
        major, minor = torch.cuda.get_device_capability(0)
        precisions = ("f16", "f32") if major >= 7 else ("f32", "f16")
        return Capabilities(device=f"cuda: {torch.cuda.get_device_name(0)} (compute "
                            f"{major}.{minor}), TensorRT {trt.__version__}",
                            precisions=precisions)

    def open(self) -> None:
        """Find (or build) the engine for this GPU and deserialize it.

        Raises:
            BackendUnavailable: TensorRT or a GPU is missing, or the precision is not offered.
            EngineBuildError: export, parse or build failed, or a cached engine is damaged or
                was built for another setup.
        """
        caps = self.capabilities()
        self.network = torch_network(self.network)
        self._precision = self.resolved_precision(caps)
        self._device_name = caps.device
        self._trt = _import_tensorrt()
        self._stream = torch.cuda.Stream(device=0)  # also initialises CUDA before TensorRT
        self._sessions: dict[bool, _Session] = {}
        self._feeds = FrameFeeds(self.network.spec.num_styles)
        self._session(temporal=False)

    def _locate(self, temporal: bool) -> tuple[Path, cache.EngineKey]:
        """The cached engine for this setup: exact key, else one built for other sizes by
        ``stylecast build-engine``, else one built now for the default sizes."""
        profile = profile_from_sizes(DEFAULT_SIZES, self.network.spec.multiple)
        key = cache.key_for(self._net, **_machine(self._trt), precision=self._precision,
                            profile=profile, temporal=temporal,
                            workspace_bytes=DEFAULT_WORKSPACE_BYTES, cache_dir=self.cache_dir)
        path = cache.engine_path(key, self.cache_dir)
        if path.is_file():
            return path, key
        for candidate in cache.find_compatible(key, self.cache_dir):
            header, _ = cache.read_header(candidate, key)
            found = dataclasses.replace(key, profile=cache.profile_of(header),
                                        workspace_bytes=header["key"]["workspace_bytes"])
            logger.info("using the TensorRT engine %s (%s)", candidate, found.profile.describe())
            return candidate, found
        logger.warning("no TensorRT engine for this GPU and network is cached; building one "
                       "for %s now (minutes, once). `%s` builds one ahead of time.",
                       profile.describe(), key.rebuild_command())
        path, _ = build_engine_file(self._net, precision=self._precision, profile=profile,
                                    temporal=temporal, cache_dir=self.cache_dir)
        return path, key

    @property
    def _net(self) -> StyleNetwork:
        """The torch network (an engine's key hashes its weights)."""
        return torch_network(self.network)

    def _cuda_stream(self) -> torch.cuda.Stream:
        if self._stream is None:
            raise BackendUnavailable("the TensorRT runtime is not open; open() must succeed first")
        return self._stream

    def _session(self, temporal: bool) -> _Session:
        if self._trt is None:
            raise BackendUnavailable("the TensorRT runtime is not open; open() must succeed first")
        session = self._sessions.get(temporal)
        if session is not None:
            return session
        path, key = self._locate(temporal)
        session = _Session(self._trt, cache.read_engine(path, key),
                           _graph_io(self._net, temporal), key)
        self._sessions[temporal] = session
        return session

    def infer(
        self, frame: np.ndarray, style: np.ndarray, strength: float, preserve: float
    ) -> np.ndarray:
        """(H, W, 3) uint8 RGB, H and W multiples of 4; style (S,) float32 -> (H, W, 3) uint8.

        The result is a fresh array the caller owns.
        """
        self.check_inputs(frame, style)
        session = self._session(temporal=False)
        out = session.run(self._feeds(frame, style, strength, preserve), frame.shape[0],
                          frame.shape[1], self._cuda_stream())
        return out["stylized"][0]

    def infer_temporal(
        self, frame: np.ndarray, style: np.ndarray, strength: float, preserve: float,
        state: TemporalInputs,
    ) -> tuple[np.ndarray, TemporalOutputs]:
        """``TemporalFrameGraph`` as its own engine (found or built on first use); see
        ``Runtime.infer_temporal``. Outputs are fresh arrays the caller owns."""
        self.check_inputs(frame, style)
        session = self._session(temporal=True)
        feeds = self._feeds(frame, style, strength, preserve)
        feeds.update(state.feeds())
        out = session.run(feeds, frame.shape[0], frame.shape[1], self._cuda_stream())
        return out["stylized"][0], TemporalOutputs(features=out["features"], stats=out["stats"])

    def close(self) -> None:
        """Drop engines, contexts, buffers and the stream; idempotent."""
        self._sessions = {}
        self._stream = None
        self._trt = None

    @property
    def info(self) -> RuntimeInfo:
        return RuntimeInfo(name=self.name, device=self._device_name, precision=self._precision)
