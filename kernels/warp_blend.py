"""The temporal cache's warp-and-blend of feature maps, fused into one pass.

The Triton kernel is :mod:`stylecast.kernels.warp_blend_triton`; the reference it must
match is :func:`stylecast.temporal.warp.warp_blend` (imported, never re-implemented), whose
docstring states the flow and confidence conventions.
"""

from __future__ import annotations

import torch

from stylecast.kernels import dispatch
from stylecast.kernels.formats import FLOAT_DTYPES
from stylecast.temporal.warp import warp_blend as warp_blend_reference


def _check(current: torch.Tensor, prev: torch.Tensor, flow: torch.Tensor,
           confidence: torch.Tensor) -> None:
    if current.ndim != 4:
        raise ValueError(f"current must be (N, C, h, w); got {tuple(current.shape)}")
    n, _, h, w = current.shape
    expected = {"prev": tuple(current.shape), "flow": (n, 2, h, w),
                "confidence": (n, 1, h, w)}
    tensors = {"prev": prev, "flow": flow, "confidence": confidence}
    for name, tensor in tensors.items():
        if tuple(tensor.shape) != expected[name]:
            raise ValueError(f"{name} must be {expected[name]} to go with current "
                             f"{tuple(current.shape)}; got {tuple(tensor.shape)}")
    if h < 2 or w < 2:
        raise ValueError(f"feature maps must be at least 2x2; got {h}x{w}")
    for name, tensor in {"current": current, **tensors}.items():
        if tensor.dtype not in FLOAT_DTYPES:
            raise ValueError(f"{name} must be float16 or float32; got {tensor.dtype}")
        if tensor.device != current.device:
            raise ValueError(f"{name} is on {tensor.device}, current on {current.device}; "
                             "move them to one device")
    if prev.dtype != current.dtype:
        raise ValueError(f"prev is {prev.dtype} and current {current.dtype}; the cache "
                         "must keep features in the network's dtype")


def warp_blend(
    current: torch.Tensor, prev: torch.Tensor, flow: torch.Tensor, confidence: torch.Tensor,
    *, backend: str = "auto",
) -> torch.Tensor:
    """``current + confidence * (warp(prev, flow) - current)``, computed in float32.

    ``warp`` samples ``prev`` bilinearly at (y + flow[1], x + flow[0]), clamped into the map
    (border padding, ``align_corners=True``), exactly as the reference does.

    Args:
        current: (N, C, h, w) float16 or float32 fresh features, on CPU or CUDA; h, w >= 2.
        prev: (N, C, h, w) features cached from the previous frame; current's dtype and
            device.
        flow: (N, 2, h, w) float16/float32 backward flow in feature pixels, same device.
        confidence: (N, 1, h, w) float16/float32 in [0, 1], weight of the warped previous
            features, same device.
        backend: "auto", "triton" or "torch"; see :mod:`stylecast.kernels.dispatch`. The
            torch path upcasts to float32 and runs the reference.

    Returns:
        (N, C, h, w) blended features in current's dtype, on its device.

    Raises:
        ValueError: shapes, dtypes or devices do not match the above; unknown backend.
        BackendUnavailable: ``backend="triton"`` and the kernel cannot run here.
    """
    _check(current, prev, flow, confidence)
    kernels = dispatch.select(backend, "warp_blend_triton", current.device)
    if kernels is None:
        # .float() is a no-op for float32, so the float32 path costs no copies.
        blended = warp_blend_reference(current.float(), prev.float(), flow.float(),
                                       confidence.float())
        return blended.to(current.dtype)
    out: torch.Tensor = kernels.launch(current, prev, flow, confidence)
    return out
