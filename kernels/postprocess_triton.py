"""Triton kernels for :func:`stylecast.kernels.postprocess.postprocess`; imports triton.

``_packed_kernel`` writes rgb24 or bgra, one pixel per lane. ``_nv12_kernel`` takes one 2x2
block per lane: it writes the block's four Y bytes and its one U V pair from the block's
average RGB (the same as averaging per-pixel U and V: the encoding is linear). Values are
clamped to [0, 1] and rounded half up, in float32.
"""

# Triton kernels take untyped pointer and scalar arguments; the launcher below is typed.
# mypy: allow-untyped-defs

from __future__ import annotations

import torch
import triton
import triton.language as tl

from stylecast.kernels.formats import YCbCr

BLOCK = 1024


@triton.jit
def _load_rgb01(src, offset, stride_c, mask):
    """R, G, B float32 clamped to [0, 1] of the pixels at ``offset`` (planar source)."""
    r = tl.load(src + offset, mask=mask, other=0.0).to(tl.float32)
    g = tl.load(src + offset + stride_c, mask=mask, other=0.0).to(tl.float32)
    b = tl.load(src + offset + 2 * stride_c, mask=mask, other=0.0).to(tl.float32)
    r = tl.minimum(tl.maximum(r, 0.0), 1.0)
    g = tl.minimum(tl.maximum(g, 0.0), 1.0)
    b = tl.minimum(tl.maximum(b, 0.0), 1.0)
    return r, g, b


@triton.jit
def _byte(value):
    """Byte value in [0, 255] -> uint8, rounding half up (truncation of value + 0.5 >= 0)."""
    return (value + 0.5).to(tl.uint8)


@triton.jit
def _packed_kernel(src, dst, h, w, stride_c, stride_y, stride_x,
                   BGRA: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < h * w
    y = offs // w
    x = offs % w
    r, g, b = _load_rgb01(src, y * stride_y + x * stride_x, stride_c, mask)
    if BGRA:
        p = dst + offs * 4
        tl.store(p, _byte(b * 255.0), mask=mask)
        tl.store(p + 1, _byte(g * 255.0), mask=mask)
        tl.store(p + 2, _byte(r * 255.0), mask=mask)
        tl.store(p + 3, tl.full((BLOCK,), 255, tl.uint8), mask=mask)
    else:
        p = dst + offs * 3
        tl.store(p, _byte(r * 255.0), mask=mask)
        tl.store(p + 1, _byte(g * 255.0), mask=mask)
        tl.store(p + 2, _byte(b * 255.0), mask=mask)


@triton.jit
def _luma(src, dst, y, x, w, stride_c, stride_y, stride_x, mask, yr, yg, yb):
    """Store the Y byte of the pixels (y, x); return their R, G, B."""
    r, g, b = _load_rgb01(src, y * stride_y + x * stride_x, stride_c, mask)
    tl.store(dst + y * w + x, _byte(16.0 + yr * r + yg * g + yb * b), mask=mask)
    return r, g, b


@triton.jit
def _nv12_kernel(src, dst, h, w, stride_c, stride_y, stride_x,
                 yr, yg, yb, ur, ug, ub, vr, vg, vb, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    half_w = w // 2
    mask = offs < (h // 2) * half_w
    by = offs // half_w
    bx = offs % half_w
    y0 = by * 2
    x0 = bx * 2
    r0, g0, b0 = _luma(src, dst, y0, x0, w, stride_c, stride_y, stride_x, mask, yr, yg, yb)
    r1, g1, b1 = _luma(src, dst, y0, x0 + 1, w, stride_c, stride_y, stride_x, mask, yr, yg, yb)
    r2, g2, b2 = _luma(src, dst, y0 + 1, x0, w, stride_c, stride_y, stride_x, mask, yr, yg, yb)
    r3, g3, b3 = _luma(src, dst, y0 + 1, x0 + 1, w, stride_c, stride_y, stride_x, mask,
                       yr, yg, yb)
    r = (r0 + r1 + r2 + r3) * 0.25
    g = (g0 + g1 + g2 + g3) * 0.25
    b = (b0 + b1 + b2 + b3) * 0.25
    uv = dst + (h + by) * w + x0
    tl.store(uv, _byte(128.0 + ur * r + ug * g + ub * b), mask=mask)
    tl.store(uv + 1, _byte(128.0 + vr * r + vg * g + vb * b), mask=mask)


def launch(image: torch.Tensor, fmt: str, hw: tuple[int, int], m: YCbCr) -> torch.Tensor:
    """Run the kernel on an image already checked by ``postprocess``; returns the frame."""
    h, w = hw
    strides = image.stride()[1:]  # any layout: NCHW, channels-last, a view
    if fmt == "nv12":
        out = torch.empty((h * 3 // 2, w), dtype=torch.uint8, device=image.device)
        rows = [c for row in m.encode() for c in row]
        grid = (triton.cdiv((h // 2) * (w // 2), BLOCK),)
        _nv12_kernel[grid](image, out, h, w, *strides, *rows, BLOCK=BLOCK)
        return out
    channels = 4 if fmt == "bgra" else 3
    out = torch.empty((h, w, channels), dtype=torch.uint8, device=image.device)
    grid = (triton.cdiv(h * w, BLOCK),)
    _packed_kernel[grid](image, out, h, w, *strides, BGRA=fmt == "bgra", BLOCK=BLOCK)
    return out


# Whether @triton.jit produced interpreted kernels (TRITON_INTERPRET=1 at import): they run
# on CPU tensors, compiled ones on CUDA tensors. Read by stylecast.kernels.dispatch.
INTERPRETED = not isinstance(_packed_kernel, triton.runtime.JITFunction)
