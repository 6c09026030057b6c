"""Network output -> uint8 frame for a sink, in one pass on the GPU.

The Triton kernels are :mod:`stylecast.kernels.postprocess_triton`; the reference they
must match is :func:`stylecast.kernels.reference.postprocess_reference`.
"""

from __future__ import annotations

import torch

from stylecast.kernels import dispatch
from stylecast.kernels.formats import image_size, ycbcr
from stylecast.kernels.reference import check_output_format, postprocess_reference


def postprocess(
    image: torch.Tensor, fmt: str, *, matrix: str = "bt601", backend: str = "auto"
) -> torch.Tensor:
    """Convert a (1, 3, h, w) float RGB image to a uint8 frame in ``fmt``.

    Values are clamped to [0, 1] and rounded half up, ``(x * 255 + 0.5).to(uint8)``, as
    :class:`stylecast.model.graph.FrameGraph` does. nv12 is limited-range Y'CbCr with the
    ``matrix`` given, chroma averaged over each 2x2 block.

    Args:
        image: (1, 3, h, w) float16 or float32 RGB, nominally in [0, 1], on CPU or CUDA;
            any strides.
        fmt: "rgb24" -> (h, w, 3); "bgra" -> (h, w, 4) with alpha 255;
            "nv12" -> (h * 3 // 2, w), h and w even.
        matrix: "bt601" (default) or "bt709"; only nv12 uses it.
        backend: "auto", "triton" or "torch"; see :mod:`stylecast.kernels.dispatch`.

    Returns:
        A C-contiguous uint8 frame on the image's device.

    Raises:
        ValueError: unknown format, matrix or backend; wrong shape or dtype; odd h or w
            for nv12.
        BackendUnavailable: ``backend="triton"`` and the kernel cannot run here.
    """
    hw = image_size(image)
    check_output_format(fmt, hw)
    m = ycbcr(matrix)
    kernels = dispatch.select(backend, "postprocess_triton", image.device)
    if kernels is None:
        return postprocess_reference(image, fmt, matrix=matrix)
    out: torch.Tensor = kernels.launch(image, fmt, hw, m)
    return out
