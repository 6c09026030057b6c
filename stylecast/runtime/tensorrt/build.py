"""Building a TensorRT engine from the exported ONNX graph: parser, profile, timing cache.

Every function takes the ``tensorrt`` module as an argument; only ``runtime``
imports it. Written against TensorRT 10's documented Python API and NOT yet run against a
real TensorRT (see the README).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from stylecast.errors import BackendUnavailable, EngineBuildError
from stylecast.runtime.tensorrt import engine_cache as cache
from stylecast.runtime.tensorrt.plan import (
    BuildProgress,
    EngineTensor,
    GraphIO,
    plan_bindings,
    profile_shapes,
)

logger = logging.getLogger(__name__)


def make_logger(trt: Any) -> Any:
    """A TensorRT logger that forwards to ``logging`` and keeps the errors for messages."""

    class _Logger(trt.ILogger):
        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.errors: list[str] = []

        def log(self, severity: Any, msg: str) -> None:
            levels = trt.ILogger.Severity
            if severity in (levels.INTERNAL_ERROR, levels.ERROR):
                self.errors.append(msg)
                logger.error("TensorRT: %s", msg)
            elif severity == levels.WARNING:
                logger.warning("TensorRT: %s", msg)
            else:
                logger.debug("TensorRT: %s", msg)

    return _Logger()


def make_monitor(trt: Any, progress: BuildProgress) -> Any:
    """A TensorRT progress monitor that forwards to ``progress`` (a tqdm bar)."""

    class _Monitor(trt.IProgressMonitor):
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)

        def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
            progress.phase_start(phase_name, parent_phase, num_steps)

        def step_complete(self, phase_name: str, step: int) -> bool:
            return progress.step_complete(phase_name, step)

        def phase_finish(self, phase_name: str) -> None:
            progress.phase_finish(phase_name)

    return _Monitor()


def _dtype_name(trt: Any, dtype: Any) -> str:
    try:
        return np.dtype(trt.nptype(dtype)).name
    except TypeError:  # a TensorRT type numpy has no name for (bf16, fp8 ...)
        return str(dtype)


def network_tensors(trt: Any, network: Any) -> list[EngineTensor]:
    inputs = [network.get_input(i) for i in range(network.num_inputs)]
    outputs = [network.get_output(i) for i in range(network.num_outputs)]
    return [EngineTensor(t.name, is_input, _dtype_name(trt, t.dtype), tuple(t.shape))
            for tensors, is_input in ((inputs, True), (outputs, False)) for t in tensors]


def engine_tensors(trt: Any, engine: Any) -> list[EngineTensor]:
    tensors = []
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        tensors.append(EngineTensor(
            name, engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT,
            _dtype_name(trt, engine.get_tensor_dtype(name)), tuple(engine.get_tensor_shape(name))))
    return tensors


def _parse(trt: Any, trt_logger: Any, onnx_file: Path) -> tuple[Any, Any, Any]:
    """Builder, network and parser (the parser must outlive the network's use)."""
    try:
        builder = trt.Builder(trt_logger)
    except (TypeError, RuntimeError) as exc:  # pybind reports a null builder as TypeError
        raise BackendUnavailable(f"TensorRT could not start its builder ({exc}; "
                                 f"{'; '.join(trt_logger.errors) or 'no details'}); check the "
                                 "NVIDIA driver with nvidia-smi") from exc
    network = builder.create_network(0)  # TensorRT 10: explicit batch is the only mode
    parser = trt.OnnxParser(network, trt_logger)
    if not parser.parse(onnx_file.read_bytes()):
        errors = [f"{parser.get_error(i).desc()} (node {parser.get_error(i).node()})"
                  for i in range(parser.num_errors)]
        raise EngineBuildError(
            f"TensorRT {trt.__version__} could not parse {onnx_file}: "
            f"{'; '.join(errors) or 'no parser errors reported'}. Delete the file to have it "
            "exported again, or use --runtime torch-cuda")
    return builder, network, parser


def _timing_cache(config: Any, path: Path) -> Any:
    data = b""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        pass
    except OSError as exc:
        logger.warning("ignoring the TensorRT timing cache %s: %s", path, exc)
    timing = config.create_timing_cache(data)
    if not config.set_timing_cache(timing, False):  # False: refuse another GPU's cache
        logger.warning("the TensorRT timing cache %s does not fit this GPU or TensorRT; "
                       "starting a new one", path)
        timing = config.create_timing_cache(b"")
        config.set_timing_cache(timing, False)
    return timing


def build_serialized(
    trt: Any, onnx_file: Path, key: cache.EngineKey, io: GraphIO, cache_dir: Path | None,
) -> bytes:
    """Parse ``onnx_file``, check its IO against ``io`` and build the engine ``key`` names."""
    trt_logger = make_logger(trt)
    builder, network, _parser = _parse(trt, trt_logger, onnx_file)
    plan_bindings(network_tensors(trt, network), io, rebuild=key.rebuild_command())
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, key.workspace_bytes)
    if key.precision == "f16":
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    for name, (low, opt, high) in profile_shapes(io, key.profile).items():
        profile.set_shape(name, low, opt, high)
    config.add_optimization_profile(profile)
    timing_path = cache.timing_cache_path(key, cache_dir)
    timing = _timing_cache(config, timing_path)
    progress = BuildProgress(f"TensorRT {key.network} {key.precision}")
    # TensorRT keeps only a pointer: the monitor must outlive the build, so hold it here.
    monitor = make_monitor(trt, progress)
    config.progress_monitor = monitor
    logger.info("building a TensorRT engine for %s (%s, %s): minutes, once per setup",
                onnx_file.name, key.precision, key.profile.describe())
    try:
        serialized = builder.build_serialized_network(network, config)
    finally:
        progress.close()
    if serialized is None:
        raise EngineBuildError(
            f"TensorRT {trt.__version__} could not build the engine: "
            f"{'; '.join(trt_logger.errors) or 'see the TensorRT messages above'}. Try "
            "--precision f32, a larger --workspace-gb or a smaller largest size")
    try:
        cache.write_atomically(timing_path, [bytes(memoryview(timing.serialize()))])
    except OSError as exc:  # only makes the next build slower
        logger.warning("could not save the TensorRT timing cache %s: %s", timing_path, exc)
    return bytes(memoryview(serialized))
