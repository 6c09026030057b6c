"""Captured frame -> network input, in one pass on the GPU.

The Triton kernel is :mod:`stylecast.kernels.preprocess_triton`; the reference it must
match is :func:`stylecast.kernels.reference.preprocess_reference`.
"""

from __future__ import annotations

import torch

from stylecast.kernels import dispatch
from stylecast.kernels.formats import FLOAT_DTYPES, frame_size, output_size, ycbcr
from stylecast.kernels.reference import preprocess_reference


def preprocess(
    frame: torch.Tensor, fmt: str, *, size: tuple[int, int] | None = None,
    dtype: torch.dtype = torch.float16, matrix: str = "bt601", backend: str = "auto",
) -> torch.Tensor:
    """Convert a captured uint8 frame to a (1, 3, h, w) float RGB image in [0, 1].

    YUV is decoded as limited range with the ``matrix`` given; chroma is nearest (shared by
    its block). When ``size`` differs from the frame's, the image is resized bilinearly
    with half-pixel centres, as ``F.interpolate(mode="bilinear", align_corners=False,
    antialias=False)`` does (no antialiasing: a downscale by more than 2x aliases).

    Args:
        frame: uint8 frame on CPU or CUDA, in one of the layouts of
            :mod:`stylecast.kernels.formats`: rgb24/bgr24 (H, W, 3), bgra (H, W, 4),
            yuyv422 (H, W * 2), nv12 (H * 3 // 2, W).
        fmt: "rgb24", "bgr24", "bgra", "yuyv422" or "nv12".
        size: output (height, width); None keeps the frame's (H, W).
        dtype: torch.float16 (default) or torch.float32.
        matrix: "bt601" (default) or "bt709"; only the YUV formats use it.
        backend: "auto", "triton" or "torch"; see :mod:`stylecast.kernels.dispatch`.

    Returns:
        (1, 3, h, w) ``dtype`` RGB in [0, 1], contiguous, on the frame's device.

    Raises:
        ValueError: unknown format, matrix or backend; wrong dtype or shape for ``fmt``.
        BackendUnavailable: ``backend="triton"`` and the kernel cannot run here.
    """
    frame_hw = frame_size(frame, fmt)
    out_hw = output_size(size, frame_hw)
    if dtype not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be torch.float16 or torch.float32; got {dtype}")
    m = ycbcr(matrix)
    kernels = dispatch.select(backend, "preprocess_triton", frame.device)
    if kernels is None:
        return preprocess_reference(frame, fmt, size=out_hw, dtype=dtype, matrix=matrix)
    out: torch.Tensor = kernels.launch(frame, fmt, frame_hw, out_hw, dtype, m)
    return out
