"""Readable torch references for :mod:`~stylecast.kernels.preprocess` and
:mod:`~stylecast.kernels.postprocess`.

These define what the Triton kernels compute: decode to float RGB, then ``F.interpolate``;
clamp, round half up, then encode. They run on any device and are what the kernels fall
back to. The warp-and-blend reference is :func:`stylecast.temporal.warp.warp_blend`.
Layouts, ranges and matrices are in :mod:`stylecast.kernels.formats`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from stylecast.kernels.formats import (
    FLOAT_DTYPES,
    OUTPUT_FORMATS,
    YCbCr,
    frame_size,
    image_size,
    output_size,
    ycbcr,
)


def _yuv_to_rgb(y: torch.Tensor, u: torch.Tensor, v: torch.Tensor, m: YCbCr) -> torch.Tensor:
    """(H, W) uint8 planes, chroma already at full size -> (3, H, W) float32 in [0, 1]."""
    ys, rv, gu, gv, bu = m.decode()
    yy, uu, vv = (y.float() - 16.0) * ys, u.float() - 128.0, v.float() - 128.0
    rgb = torch.stack((yy + rv * vv, yy - gu * uu - gv * vv, yy + bu * uu))
    return rgb.clamp(0.0, 1.0)


def _from_rgb(frame: torch.Tensor, m: YCbCr) -> torch.Tensor:
    return frame.permute(2, 0, 1).float() * (1.0 / 255.0)


def _from_bgr(frame: torch.Tensor, m: YCbCr) -> torch.Tensor:
    return frame[..., :3].flip(-1).permute(2, 0, 1).float() * (1.0 / 255.0)


def _from_yuyv422(frame: torch.Tensor, m: YCbCr) -> torch.Tensor:
    y = frame[:, 0::2]
    u = frame[:, 1::4].repeat_interleave(2, dim=1)
    v = frame[:, 3::4].repeat_interleave(2, dim=1)
    return _yuv_to_rgb(y, u, v, m)


def _from_nv12(frame: torch.Tensor, m: YCbCr) -> torch.Tensor:
    h = frame.shape[0] * 2 // 3
    uv = frame[h:].reshape(h // 2, -1, 2).repeat_interleave(2, dim=0).repeat_interleave(2, dim=1)
    return _yuv_to_rgb(frame[:h], uv[..., 0], uv[..., 1], m)


_DECODERS: dict[str, Callable[[torch.Tensor, YCbCr], torch.Tensor]] = {
    "rgb24": _from_rgb, "bgr24": _from_bgr, "bgra": _from_bgr,
    "yuyv422": _from_yuyv422, "nv12": _from_nv12,
}


def preprocess_reference(
    frame: torch.Tensor, fmt: str, *, size: tuple[int, int] | None = None,
    dtype: torch.dtype = torch.float16, matrix: str = "bt601",
) -> torch.Tensor:
    """Captured frame -> network input; see :func:`stylecast.kernels.preprocess.preprocess`.

    Args:
        frame: uint8 frame in ``fmt`` (layouts in :mod:`stylecast.kernels.formats`).
        fmt: "rgb24", "bgr24", "bgra", "yuyv422" or "nv12".
        size: output (height, width); None keeps the frame's size.
        dtype: torch.float16 or torch.float32.
        matrix: "bt601" or "bt709", for the YUV formats.

    Returns:
        (1, 3, h, w) ``dtype`` RGB in [0, 1] on the frame's device.
    """
    hw = frame_size(frame, fmt)
    out_hw = output_size(size, hw)
    if dtype not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be torch.float16 or torch.float32; got {dtype}")
    rgb = _DECODERS[fmt](frame, ycbcr(matrix))[None]
    if out_hw != hw:
        rgb = F.interpolate(rgb, size=out_hw, mode="bilinear", align_corners=False,
                            antialias=False)
    return rgb.to(dtype)


def to_bytes(values: torch.Tensor) -> torch.Tensor:
    """Float byte values in [0, 255] -> uint8, rounding half up (as FrameGraph does)."""
    return (values + 0.5).to(torch.uint8)


def _to_rgb24(rgb: torch.Tensor, m: YCbCr) -> torch.Tensor:
    return to_bytes(rgb * 255.0).permute(1, 2, 0).contiguous()


def _to_bgra(rgb: torch.Tensor, m: YCbCr) -> torch.Tensor:
    bgr = to_bytes(rgb.flip(0) * 255.0)
    alpha = torch.full_like(bgr[:1], 255)
    return torch.cat((bgr, alpha)).permute(1, 2, 0).contiguous()


def _to_nv12(rgb: torch.Tensor, m: YCbCr) -> torch.Tensor:
    h, w = rgb.shape[1:]
    coeffs = torch.tensor(m.encode(), dtype=torch.float32, device=rgb.device)
    offset = torch.tensor([16.0, 128.0, 128.0], device=rgb.device).reshape(3, 1, 1)
    yuv = torch.einsum("ij,jhw->ihw", coeffs, rgb) + offset
    uv = F.avg_pool2d(yuv[None, 1:], kernel_size=2)[0]  # (2, h/2, w/2)
    uv_rows = uv.permute(1, 2, 0).reshape(h // 2, w)  # U V U V ...
    return to_bytes(torch.cat((yuv[0], uv_rows)))


_ENCODERS: dict[str, Callable[[torch.Tensor, YCbCr], torch.Tensor]] = {
    "rgb24": _to_rgb24, "bgra": _to_bgra, "nv12": _to_nv12,
}


def check_output_format(fmt: str, hw: tuple[int, int]) -> None:
    """ValueError unless ``fmt`` is an output format that fits an (h, w) image."""
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"output format {fmt!r} is not one of {', '.join(OUTPUT_FORMATS)}")
    if fmt == "nv12" and (hw[0] % 2 or hw[1] % 2):
        raise ValueError(f"nv12 needs an even height and width; the image is {hw[0]}x{hw[1]} "
                         "(h x w): resize or crop it to even sizes first")


def postprocess_reference(
    image: torch.Tensor, fmt: str, *, matrix: str = "bt601"
) -> torch.Tensor:
    """Network output -> uint8 frame; see :func:`stylecast.kernels.postprocess.postprocess`.

    Args:
        image: (1, 3, h, w) float16/float32 RGB, clamped to [0, 1] here.
        fmt: "rgb24" -> (h, w, 3), "bgra" -> (h, w, 4) with alpha 255, or
            "nv12" -> (h * 3 // 2, w); h and w even for nv12.
        matrix: "bt601" or "bt709", for nv12.

    Returns:
        A C-contiguous uint8 frame on the image's device.
    """
    hw = image_size(image)
    check_output_format(fmt, hw)
    rgb = image[0].float().clamp(0.0, 1.0)
    return _ENCODERS[fmt](rgb, ycbcr(matrix))
