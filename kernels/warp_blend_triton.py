"""Triton kernel for :func:`stylecast.kernels.warp_blend.warp_blend`; imports triton.

Each program takes ``BLOCK`` pixels of one batch item, reads their flow and confidence
once, computes the bilinear footprint (border padding: the sample point is clamped into
the map, which is what ``grid_sample(padding_mode="border", align_corners=True)`` does),
then walks the channels: four gathers from ``prev``, one read of ``current``, one lerp,
one store. All arithmetic is float32; the store rounds to the features' dtype.
"""

# Triton kernels take untyped pointer and scalar arguments; the launcher below is typed.
# mypy: allow-untyped-defs

from __future__ import annotations

import torch
import triton
import triton.language as tl

BLOCK = 512


@triton.jit
def _warp_blend_kernel(cur, prev, flow, conf, out, C, h, w, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    n = tl.program_id(1).to(tl.int64)  # batch offsets can pass 2**31 elements
    hw = h * w
    mask = offs < hw
    x = (offs % w).to(tl.float32)
    y = (offs // w).to(tl.float32)
    fx = tl.load(flow + n * 2 * hw + offs, mask=mask, other=0.0).to(tl.float32)
    fy = tl.load(flow + n * 2 * hw + hw + offs, mask=mask, other=0.0).to(tl.float32)
    alpha = tl.load(conf + n * hw + offs, mask=mask, other=0.0).to(tl.float32)
    sx = tl.minimum(tl.maximum(x + fx, 0.0), w - 1.0)
    sy = tl.minimum(tl.maximum(y + fy, 0.0), h - 1.0)
    x0 = sx.to(tl.int32)  # truncation is floor: sx >= 0
    y0 = sy.to(tl.int32)
    lx = sx - x0.to(tl.float32)
    ly = sy - y0.to(tl.float32)
    x1 = tl.minimum(x0 + 1, w - 1)  # only reached with weight lx == 0
    y1 = tl.minimum(y0 + 1, h - 1)
    o00 = y0 * w + x0
    o01 = y0 * w + x1
    o10 = y1 * w + x0
    o11 = y1 * w + x1
    w00 = (1.0 - lx) * (1.0 - ly)
    w01 = lx * (1.0 - ly)
    w10 = (1.0 - lx) * ly
    w11 = lx * ly
    out_ty = out.dtype.element_ty
    base = n * C * hw
    for c in range(C):
        plane = base + c * hw
        p = prev + plane
        warped = (w00 * tl.load(p + o00, mask=mask, other=0.0).to(tl.float32)
                  + w01 * tl.load(p + o01, mask=mask, other=0.0).to(tl.float32)
                  + w10 * tl.load(p + o10, mask=mask, other=0.0).to(tl.float32)
                  + w11 * tl.load(p + o11, mask=mask, other=0.0).to(tl.float32))
        fresh = tl.load(cur + plane + offs, mask=mask, other=0.0).to(tl.float32)
        tl.store(out + plane + offs, (fresh + alpha * (warped - fresh)).to(out_ty), mask=mask)


def launch(current: torch.Tensor, prev: torch.Tensor, flow: torch.Tensor,
           confidence: torch.Tensor) -> torch.Tensor:
    """Run the kernel on tensors already checked by ``warp_blend``; returns (N, C, h, w)."""
    # Non-contiguous inputs are copied once here (a no-op for the cache's own tensors).
    current, prev, flow, confidence = (
        t.contiguous() for t in (current, prev, flow, confidence))
    n, c, h, w = current.shape
    out = torch.empty_like(current)
    grid = (triton.cdiv(h * w, BLOCK), n)
    _warp_blend_kernel[grid](current, prev, flow, confidence, out, c, h, w, BLOCK=BLOCK)
    return out


# Whether @triton.jit produced interpreted kernels (TRITON_INTERPRET=1 at import): they run
# on CPU tensors, compiled ones on CUDA tensors. Read by stylecast.kernels.dispatch.
INTERPRETED = not isinstance(_warp_blend_kernel, triton.runtime.JITFunction)
