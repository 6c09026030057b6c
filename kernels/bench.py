"""Achieved memory bandwidth of the Triton kernels on a CUDA GPU, against their references.

:func:`measure` is a pure function for ``stylecast bench --gpu``: it builds random inputs,
times ``iters`` back-to-back launches of the Triton kernel (forced: ``backend="triton"``)
and of the torch reference with CUDA events, and returns a :class:`BandwidthResult`. The
bytes counted are the compulsory traffic of one call: every input byte read once, every
output byte written once (re-reads that hit the cache, such as the 2x2 footprint of a
resize or a warp, are not counted). The kernels are memory-bound, so GB/s against the
GPU's peak says how close to the limit they run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from stylecast.errors import BackendUnavailable
from stylecast.kernels.formats import frame_shape
from stylecast.kernels.postprocess import postprocess
from stylecast.kernels.preprocess import preprocess
from stylecast.kernels.warp_blend import warp_blend

Call = Callable[[str], torch.Tensor]  # backend -> output


@dataclass(frozen=True)
class BandwidthResult:
    """One measurement. Times are per call, in milliseconds; GB/s are 1e9 bytes/s."""

    kernel: str
    size: tuple[int, int]  # (height, width) of the frame, image or feature map
    fmt: str | None
    dtype: str
    iters: int
    device: str
    bytes_moved: int  # compulsory bytes read + written by one call
    triton_ms: float
    reference_ms: float
    triton_gbps: float
    reference_gbps: float


@dataclass(frozen=True)
class _Spec:
    size: tuple[int, int]
    fmt: str | None
    dtype: torch.dtype
    channels: int
    out_size: tuple[int, int] | None

    @property
    def itemsize(self) -> int:
        return torch.empty((), dtype=self.dtype).element_size()


def _preprocess_case(spec: _Spec) -> tuple[Call, int]:
    if spec.fmt is None:
        raise ValueError("preprocess needs the input pixel format")
    fmt, (oh, ow) = spec.fmt, spec.out_size or spec.size
    frame = torch.randint(0, 256, frame_shape(fmt, *spec.size), dtype=torch.uint8,
                          device="cuda")
    moved = frame.nbytes + 3 * oh * ow * spec.itemsize
    return (lambda b: preprocess(frame, fmt, size=(oh, ow), dtype=spec.dtype, backend=b)), moved


def _postprocess_case(spec: _Spec) -> tuple[Call, int]:
    if spec.fmt is None:
        raise ValueError("postprocess needs the output pixel format")
    fmt = spec.fmt
    out_bytes = math.prod(frame_shape(fmt, *spec.size))
    image = torch.rand((1, 3, *spec.size), dtype=spec.dtype, device="cuda")
    return (lambda b: postprocess(image, fmt, backend=b)), image.nbytes + out_bytes


def _warp_blend_case(spec: _Spec) -> tuple[Call, int]:
    if spec.fmt is not None:
        raise ValueError(f"warp_blend has no pixel format; pass fmt=None, not {spec.fmt!r}")
    h, w = spec.size
    feats = torch.rand((2, 1, spec.channels, h, w), dtype=spec.dtype, device="cuda")
    flow = 3.0 * torch.randn((1, 2, h, w), device="cuda")
    conf = torch.rand((1, 1, h, w), dtype=spec.dtype, device="cuda")
    # current and prev read, the output written; flow and confidence read.
    moved = 3 * spec.channels * h * w * spec.itemsize + flow.nbytes + conf.nbytes
    return (lambda b: warp_blend(feats[0], feats[1], flow, conf, backend=b)), moved


# kernel name -> builder of (the call to time, its compulsory bytes), inputs on CUDA.
_CASES: dict[str, Callable[[_Spec], tuple[Call, int]]] = {
    "preprocess": _preprocess_case, "postprocess": _postprocess_case,
    "warp_blend": _warp_blend_case,
}
KERNELS = tuple(_CASES)


def _time_ms(call: Call, backend: str, iters: int, warmup: int) -> float:
    for _ in range(warmup):  # the first Triton launch compiles
        call(backend)
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        call(backend)
    end.record()
    end.synchronize()
    return float(start.elapsed_time(end)) / iters


def measure(
    kernel_name: str, size: tuple[int, int], fmt: str | None, iters: int = 100, *,
    dtype: torch.dtype = torch.float16, channels: int = 32,
    out_size: tuple[int, int] | None = None, warmup: int = 5,
) -> BandwidthResult:
    """Time one kernel's Triton path and its reference on the current CUDA device.

    Args:
        kernel_name: "preprocess", "postprocess" or "warp_blend".
        size: (height, width): the input frame for preprocess, the image for postprocess,
            the feature map for warp_blend.
        fmt: input pixel format for preprocess, output format for postprocess, None for
            warp_blend.
        iters: timed calls of each implementation, >= 1.
        dtype: float dtype of the images or features (torch.float16 or torch.float32).
        channels: feature channels for warp_blend (batch of one).
        out_size: (height, width) preprocess resizes to; None keeps ``size``.
        warmup: untimed calls first (compilation, caches).

    Raises:
        ValueError: unknown kernel, bad format for it, iters < 1.
        BackendUnavailable: no CUDA device, or the Triton kernel cannot run (triton
            missing, or TRITON_INTERPRET=1).
    """
    if kernel_name not in KERNELS:
        raise ValueError(f"kernel {kernel_name!r} is not one of {', '.join(KERNELS)}")
    if iters < 1 or warmup < 0:
        raise ValueError(f"iters must be >= 1 and warmup >= 0; got {iters} and {warmup}")
    if not torch.cuda.is_available():
        raise BackendUnavailable("measuring kernel bandwidth needs a CUDA GPU, and torch sees "
                                 "none here; run `stylecast bench --gpu` on a machine with one")
    call, moved = _CASES[kernel_name](_Spec(size, fmt, dtype, channels, out_size))
    triton_ms = _time_ms(call, "triton", iters, warmup)
    reference_ms = _time_ms(call, "torch", iters, warmup)
    return BandwidthResult(
        kernel=kernel_name, size=size, fmt=fmt, dtype=str(dtype).removeprefix("torch."),
        iters=iters, device=torch.cuda.get_device_name(), bytes_moved=moved,
        triton_ms=triton_ms, reference_ms=reference_ms,
        triton_gbps=moved / (triton_ms * 1e6), reference_gbps=moved / (reference_ms * 1e6))
