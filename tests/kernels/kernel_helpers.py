"""Shared helpers for the kernel tests: random inputs and per-dtype tolerances."""

from __future__ import annotations

import torch

from stylecast.kernels.formats import frame_shape

# Absolute and relative tolerances against the reference, on data in [0, 1].
TOLERANCES = {
    torch.float32: {"atol": 1e-5, "rtol": 1e-5},
    torch.float16: {"atol": 1e-3, "rtol": 1e-3},
}


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def random_frame(fmt: str, height: int, width: int, seed: int = 0) -> torch.Tensor:
    """A uint8 frame of random bytes (every Y, U, V value, in and out of range)."""
    return torch.randint(0, 256, frame_shape(fmt, height, width), dtype=torch.uint8,
                         generator=generator(seed))


def assert_bytes_close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    """uint8 frames equal in shape, within one level everywhere, and nearly all equal.

    One level covers a different summation order or a fused multiply-add landing on the
    other side of a rounding tie; on random data that is rare, so more than 0.5 % of bytes
    off by one means the rounding rule itself differs.
    """
    assert actual.dtype == expected.dtype == torch.uint8
    assert actual.shape == expected.shape
    diff = (actual.cpu().int() - expected.cpu().int()).abs()
    assert diff.max().item() <= 1, f"{(diff > 1).sum().item()} bytes differ by more than 1"
    off_by_one = int((diff == 1).sum().item())
    assert off_by_one <= max(1, diff.numel() // 200), (
        f"{off_by_one} of {diff.numel()} bytes differ by one level")
