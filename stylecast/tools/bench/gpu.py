"""``stylecast bench --gpu``: the torch-cuda runtime at live sizes, on the GPU it names.

Three measurements, all in one run:

* model only, per network (lite, full), size and mode (CUDA graph or eager), f16: the
  compute stage timed with CUDA events, and the whole ``infer`` call (frame in, frame out,
  transfers included) timed on the wall clock; medians of N runs after warm-up, and the peak
  GPU memory (``torch.cuda.max_memory_allocated``) of each configuration on its own;
* end to end: the real pipeline from the built-in test source to a null sink, through the
  torch-cuda runtime (fps, capture-to-output latency p50/p95, stage times);
* the custom kernels' achieved bandwidth, when ``stylecast.kernels.bench`` is installed.

The networks carry seeded untrained weights: speed does not depend on the weights, and the
full network has no trained pack yet.
"""

from __future__ import annotations

import datetime
import logging
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from stylecast.errors import BackendUnavailable, StylecastError, first_line

log = logging.getLogger(__name__)

GPU_SIZES = {"720p": (1280, 720), "1080p": (1920, 1080), "2160p": (3840, 2160)}
#: Sizes the kernels' bandwidth is measured at.
KERNEL_SIZES = ("1080p", "2160p")
NETWORKS = ("lite", "full")
NUM_STYLES = 8
WEIGHTS_NOTE = f"seeded untrained weights, {NUM_STYLES} styles: speed does not depend on them"


def require_cuda() -> str:
    """The CUDA device's name, or BackendUnavailable in one line when torch sees none."""
    import torch

    if not torch.cuda.is_available():
        raise BackendUnavailable(
            f"bench --gpu needs a CUDA device and torch {torch.__version__} sees none "
            "(CPU-only build, no NVIDIA GPU or no driver); run it on a machine with an "
            "NVIDIA GPU and the CUDA build of torch")
    return torch.cuda.get_device_name(0)


def _driver_version() -> str | None:
    """The NVIDIA driver version from nvidia-smi; None when it cannot say."""
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = done.stdout.strip().splitlines()
    return lines[0].strip() if done.returncode == 0 and lines else None


def gpu_environment() -> dict[str, Any]:
    """Device, driver, CUDA, cuDNN and torch versions, and the date: what a number needs."""
    import torch

    props = torch.cuda.get_device_properties(0)
    return {
        "device": torch.cuda.get_device_name(0),
        "compute_capability": f"{props.major}.{props.minor}",
        "memory_gib": round(props.total_memory / 2**30, 1),
        "driver": _driver_version(),
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "torch": torch.__version__,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


@dataclass
class GpuModelTiming:
    """One network at one size in one mode.

    ``compute_*``: the compute stage alone (CUDA events on the runtime's compute stream);
    ``frame_*``: ``infer`` on the wall clock, frame in to frame out, transfers included.
    ``streamed_fps``: frames per second with two in flight (``submit`` of the next frame
    before the ``result`` of the last), so one frame's transfers overlap the other's compute.
    ``error`` is set (and the timings are None) when the configuration could not run.
    """

    network: str
    size: str
    precision: str
    mode: str
    compute_ms_median: float | None
    compute_ms_p95: float | None
    model_fps: float | None
    frame_ms_median: float | None
    frame_ms_p95: float | None
    frame_fps: float | None
    peak_mib: float | None
    runs: int
    error: str | None = None
    streamed_fps: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def summarize(times_ms: Sequence[float]) -> tuple[float, float, float]:
    """Median, p95 and the fps of the median of ``times_ms`` (non-empty, positive median).

    Raises:
        ValueError: no times, or a median that is not positive.
    """
    if not times_ms:
        raise ValueError("no timings to summarize")
    median = float(statistics.median(times_ms))
    if median <= 0:
        raise ValueError(f"median time must be positive; got {median}")
    p95 = float(np.percentile(np.asarray(times_ms, dtype=np.float64), 95))
    return round(median, 3), round(p95, 3), round(1000.0 / median, 1)


def make_network(size: str, seed: int = 0) -> Any:
    """The ``size`` network with seeded untrained weights (see ``WEIGHTS_NOTE``)."""
    import torch

    from stylecast.model.network import NetworkSpec, StyleNetwork

    torch.manual_seed(seed)
    return StyleNetwork(NetworkSpec.preset(size, NUM_STYLES)).eval()


def time_model(network: Any, label: str, size: str, cuda_graph: bool, runs: int,
               warmup: int) -> GpuModelTiming:
    """Model-only timing of one configuration on a fresh runtime, its memory peak alone."""
    import torch

    from stylecast.runtime.torch_cuda.runtime import TorchCudaRuntime
    from stylecast.tools.bench.model import test_frame

    width, height = GPU_SIZES[size]
    mode = "cuda graph" if cuda_graph else "eager"
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    runtime = TorchCudaRuntime(network=network, precision="f16", cuda_graph=cuda_graph)
    frame = test_frame(width, height)
    style = np.zeros(NUM_STYLES, np.float32)
    style[0] = 1.0
    try:
        runtime.open()
        for _ in range(max(1, warmup)):
            runtime.infer(frame, style, 1.0, 0.0)
        wall = []
        for _ in range(runs):
            t0 = time.perf_counter()
            runtime.infer(frame, style, 1.0, 0.0)
            wall.append((time.perf_counter() - t0) * 1000.0)
        streamed = streamed_fps(runtime, frame, style, runs)
        compute = runtime.time_steps(height, width, runs)
        mode = runtime.mode
    except (torch.OutOfMemoryError, StylecastError) as exc:
        log.warning("bench --gpu: %s %s %s failed: %s", label, size, mode, exc)
        return GpuModelTiming(label, size, "f16", mode, None, None, None, None, None, None,
                              None, 0, error=first_line(exc))
    finally:
        runtime.close()
    peak = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    del runtime
    torch.cuda.empty_cache()
    c_med, c_p95, c_fps = summarize(compute)
    f_med, f_p95, f_fps = summarize(wall)
    log.info("bench --gpu: %s %s %s: compute %.2f ms, frame %.2f ms", label, size, mode,
             c_med, f_med)
    return GpuModelTiming(label, size, "f16", mode, c_med, c_p95, c_fps, f_med, f_p95, f_fps,
                          peak, runs, streamed_fps=streamed)


def streamed_fps(runtime: Any, frame: np.ndarray, style: np.ndarray, runs: int) -> float:
    """Frames per second over ``runs`` frames with up to ``runtime.max_in_flight`` in flight:
    each frame is submitted before the oldest result is taken."""
    depth = max(1, runtime.max_in_flight)
    waiting: list[Any] = []
    t0 = time.perf_counter()
    for _ in range(runs):
        if len(waiting) == depth:
            waiting.pop(0).result()
        waiting.append(runtime.submit(frame, style, 1.0, 0.0))
    for pending in waiting:
        pending.result()
    return round(runs / (time.perf_counter() - t0), 1)


def model_rows(networks: Sequence[str], sizes: Sequence[str], runs: int,
               warmup: int) -> list[dict]:
    """Every network x size x (CUDA graph, eager), f16."""
    rows = []
    for name in networks:
        network = make_network(name)
        for size in sizes:
            for cuda_graph in (True, False):
                rows.append(time_model(network, name, size, cuda_graph, runs, warmup)
                            .as_dict())
    return rows


def pipeline_rows(networks: Sequence[str], sizes: Sequence[str], seconds: float,
                  modes: Sequence[bool]) -> list[dict]:
    """The real pipeline, test source to null sink, on torch-cuda f16 with CUDA graphs.

    Args:
        modes: ``live`` flags to run: True paces the source at 30 fps (latency as a viewer
            sees it), False runs unpaced (the most frames per second the pipeline can do).
    """
    from stylecast.engine.mixer import StyleMixer
    from stylecast.engine.stylizer import Stylizer
    from stylecast.runtime.torch_cuda.runtime import TorchCudaRuntime
    from stylecast.tools.bench.pipeline import measure_pipeline

    names = [f"style{i}" for i in range(NUM_STYLES)]
    rows = []
    for name in networks:
        network = make_network(name)
        for size in sizes:
            for live in modes:
                runtime = TorchCudaRuntime(network=network, precision="f16")
                try:
                    runtime.open()
                    stylizer = Stylizer(runtime, StyleMixer(names, {names[0]: 1.0}))
                    timing = measure_pipeline(stylizer, GPU_SIZES[size], None, seconds, live)
                except StylecastError as exc:
                    log.warning("bench --gpu: pipeline %s %s failed: %s", name, size, exc)
                    continue
                finally:
                    runtime.close()
                rows.append({"network": name, "size": size, **timing.as_dict()})
    return rows


#: (kernel, pixel format) pairs timed by ``kernel_rows``: a camera's NV12 and an RGB frame
#: in, RGB out, and the temporal cache's warp-and-blend on the feature map.
KERNEL_CASES = (("preprocess", "nv12"), ("preprocess", "rgb24"), ("postprocess", "rgb24"),
                ("warp_blend", None))
#: Feature channels for warp_blend: the lite network's body width.
WARP_CHANNELS = 64


def kernel_rows(sizes: Sequence[str] = KERNEL_SIZES, iters: int = 100) -> list[dict]:
    """The custom kernels' achieved GB/s (``stylecast.kernels.bench.measure``), Triton and
    torch reference, at each frame size; none when that module or Triton is missing.

    preprocess and postprocess run on the frame, warp_blend on its (H/4, W/4) feature map
    with ``WARP_CHANNELS`` channels, all f16.
    """
    try:
        from stylecast.kernels.bench import measure
    except ImportError as exc:
        log.info("bench --gpu: no kernel bandwidth (stylecast.kernels.bench: %s)", exc)
        return []
    rows: list[dict] = []
    for size in sizes:
        width, height = GPU_SIZES[size]
        for kernel, fmt in KERNEL_CASES:
            shape = (height // 4, width // 4) if kernel == "warp_blend" else (height, width)
            try:
                result = measure(kernel, shape, fmt, iters, channels=WARP_CHANNELS)
            except StylecastError as exc:  # Triton missing or interpreted
                log.warning("bench --gpu: kernel bandwidth not measured: %s", exc)
                return rows
            rows.append({"frame": size, **asdict(result)})
    return rows


def run_gpu_bench(*, networks: Sequence[str] = NETWORKS,
                  sizes: Sequence[str] = tuple(GPU_SIZES), runs: int = 50, warmup: int = 10,
                  seconds: float = 10.0, pipeline_modes: Sequence[bool] = (True, False),
                  skip_model: bool = False, skip_pipeline: bool = False,
                  command: str = "") -> dict[str, Any]:
    """Everything ``stylecast bench --gpu`` measures, as one JSON-ready dict.

    Raises:
        BackendUnavailable: no CUDA device.
        ConfigError: an unknown network or size name.
    """
    require_cuda()
    _check_names(networks, sizes)
    environment = gpu_environment()
    from stylecast.tools.bench.machine import describe

    return {
        "date": environment["date"], "command": command, "gpu": environment,
        "machine": describe(), "weights": WEIGHTS_NOTE, "runs": runs, "warmup": warmup,
        "sizes": list(sizes),
        "model": [] if skip_model else model_rows(networks, sizes, runs, warmup),
        "pipeline": [] if skip_pipeline else pipeline_rows(networks, sizes, seconds,
                                                           pipeline_modes),
        "kernels": kernel_rows(),
    }


def _check_names(networks: Sequence[str], sizes: Sequence[str]) -> None:
    from stylecast.errors import ConfigError

    for name in networks:
        if name not in NETWORKS:
            raise ConfigError(f"--gpu-networks: {name!r} is not one of {', '.join(NETWORKS)}")
    for size in sizes:
        if size not in GPU_SIZES:
            raise ConfigError(f"--gpu-sizes: {size!r} is not one of {', '.join(GPU_SIZES)}")
