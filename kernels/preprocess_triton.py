"""Triton kernel for :func:`stylecast.kernels.preprocess.preprocess`; imports triton.

One pass: each program takes ``BLOCK`` output pixels, reads the (up to four) source pixels
their bilinear footprint needs straight from the packed uint8 frame, decodes each to RGB
(clamped, like the reference does before resizing), blends them with the weights
``F.interpolate(..., align_corners=False)`` uses, and writes the three planes. All
arithmetic is float32; the store rounds to the output dtype.
"""

# Triton kernels take untyped pointer and scalar arguments; the launcher below is typed.
# mypy: allow-untyped-defs

from __future__ import annotations

import torch
import triton
import triton.language as tl

from stylecast.kernels.formats import YCbCr

FORMAT_CODES = {"rgb24": 0, "bgr24": 1, "bgra": 2, "yuyv422": 3, "nv12": 4}
BLOCK = 1024


@triton.jit
def _yuv_to_rgb(y, u, v, ys, rv, gu, gv, bu):
    yy = (y.to(tl.float32) - 16.0) * ys
    uu = u.to(tl.float32) - 128.0
    vv = v.to(tl.float32) - 128.0
    r = tl.minimum(tl.maximum(yy + rv * vv, 0.0), 1.0)
    g = tl.minimum(tl.maximum(yy - gu * uu - gv * vv, 0.0), 1.0)
    b = tl.minimum(tl.maximum(yy + bu * uu, 0.0), 1.0)
    return r, g, b


@triton.jit
def _load_rgb(src, row_stride, H, y, x, mask, ys, rv, gu, gv, bu, FMT: tl.constexpr):
    """R, G, B float32 in [0, 1] of the pixels (y, x) of a frame in format FMT."""
    row = src + y * row_stride
    if FMT <= 2:  # packed RGB: 3 or 4 bytes per pixel
        if FMT == 2:
            p = row + x * 4
        else:
            p = row + x * 3
        c0 = tl.load(p, mask=mask, other=0).to(tl.float32) * (1.0 / 255.0)
        c1 = tl.load(p + 1, mask=mask, other=0).to(tl.float32) * (1.0 / 255.0)
        c2 = tl.load(p + 2, mask=mask, other=0).to(tl.float32) * (1.0 / 255.0)
        if FMT == 0:
            r, g, b = c0, c1, c2
        else:
            r, g, b = c2, c1, c0
    elif FMT == 3:  # yuyv422: Y0 U Y1 V
        pair = row + (x // 2) * 4
        luma = tl.load(row + x * 2, mask=mask, other=0)
        u = tl.load(pair + 1, mask=mask, other=0)
        v = tl.load(pair + 3, mask=mask, other=0)
        r, g, b = _yuv_to_rgb(luma, u, v, ys, rv, gu, gv, bu)
    else:  # nv12: Y plane, then U V rows at half resolution
        luma = tl.load(row + x, mask=mask, other=0)
        pair = src + (H + y // 2) * row_stride + (x // 2) * 2
        u = tl.load(pair, mask=mask, other=0)
        v = tl.load(pair + 1, mask=mask, other=0)
        r, g, b = _yuv_to_rgb(luma, u, v, ys, rv, gu, gv, bu)
    return r, g, b


@triton.jit
def _preprocess_kernel(src, dst, H, W, h, w, row_stride, scale_y, scale_x,
                       ys, rv, gu, gv, bu,
                       FMT: tl.constexpr, RESIZE: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < h * w
    oy = offs // w
    ox = offs % w
    if RESIZE:
        # Source coordinates as upsample_bilinear2d computes them (align_corners=False).
        sy = tl.maximum((oy.to(tl.float32) + 0.5) * scale_y - 0.5, 0.0)
        sx = tl.maximum((ox.to(tl.float32) + 0.5) * scale_x - 0.5, 0.0)
        y0 = sy.to(tl.int32)  # truncation is floor: sy >= 0
        x0 = sx.to(tl.int32)
        ly = sy - y0.to(tl.float32)
        lx = sx - x0.to(tl.float32)
        y1 = tl.minimum(y0 + 1, H - 1)
        x1 = tl.minimum(x0 + 1, W - 1)
        r00, g00, b00 = _load_rgb(src, row_stride, H, y0, x0, mask, ys, rv, gu, gv, bu, FMT)
        r01, g01, b01 = _load_rgb(src, row_stride, H, y0, x1, mask, ys, rv, gu, gv, bu, FMT)
        r10, g10, b10 = _load_rgb(src, row_stride, H, y1, x0, mask, ys, rv, gu, gv, bu, FMT)
        r11, g11, b11 = _load_rgb(src, row_stride, H, y1, x1, mask, ys, rv, gu, gv, bu, FMT)
        r = (1.0 - ly) * ((1.0 - lx) * r00 + lx * r01) + ly * ((1.0 - lx) * r10 + lx * r11)
        g = (1.0 - ly) * ((1.0 - lx) * g00 + lx * g01) + ly * ((1.0 - lx) * g10 + lx * g11)
        b = (1.0 - ly) * ((1.0 - lx) * b00 + lx * b01) + ly * ((1.0 - lx) * b10 + lx * b11)
    else:
        r, g, b = _load_rgb(src, row_stride, H, oy, ox, mask, ys, rv, gu, gv, bu, FMT)
    out_ty = dst.dtype.element_ty
    plane = h * w
    tl.store(dst + offs, r.to(out_ty), mask=mask)
    tl.store(dst + plane + offs, g.to(out_ty), mask=mask)
    tl.store(dst + 2 * plane + offs, b.to(out_ty), mask=mask)


def launch(frame: torch.Tensor, fmt: str, frame_hw: tuple[int, int],
           out_hw: tuple[int, int], dtype: torch.dtype, m: YCbCr) -> torch.Tensor:
    """Run the kernel on a frame already checked by ``preprocess``; returns (1, 3, h, w)."""
    # Pixels must be packed within a row; a row pitch (a cropped view) is fine.
    if frame.stride(-1) != 1 or (frame.ndim == 3 and frame.stride(1) != frame.shape[2]):
        frame = frame.contiguous()
    (H, W), (h, w) = frame_hw, out_hw
    out = torch.empty((1, 3, h, w), dtype=dtype, device=frame.device)
    grid = (triton.cdiv(h * w, BLOCK),)
    _preprocess_kernel[grid](
        frame, out, H, W, h, w, frame.stride(0), H / h, W / w, *m.decode(),
        FMT=FORMAT_CODES[fmt], RESIZE=(H, W) != (h, w), BLOCK=BLOCK)
    return out


# Whether @triton.jit produced interpreted kernels (TRITON_INTERPRET=1 at import): they run
# on CPU tensors, compiled ones on CUDA tensors. Read by stylecast.kernels.dispatch.
INTERPRETED = not isinstance(_preprocess_kernel, triton.runtime.JITFunction)
