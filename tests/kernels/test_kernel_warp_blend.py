"""warp_blend: the Triton kernel against stylecast.temporal.warp.warp_blend, computed in
float32 on the same inputs, and the errors at the boundary."""

from __future__ import annotations

import pytest
import torch
from kernel_helpers import TOLERANCES, generator

from stylecast.kernels.warp_blend import warp_blend
from stylecast.temporal.warp import warp_blend as reference

F16, F32 = torch.float16, torch.float32
# (features, flow, confidence) dtypes: all float32; half features with a float32 flow (what
# the cache holds under a half network); all half.
DTYPES = [(F32, F32, F32), (F16, F32, F16), (F16, F16, F16)]


def _inputs(shape: tuple[int, int, int, int], dtypes: tuple[torch.dtype, ...], seed: int,
            reach: float = 1.5) -> tuple[torch.Tensor, ...]:
    """Features in [0, 1] and a flow up to ``reach`` map sizes long: many samples land
    outside the map and take the border."""
    n, c, h, w = shape
    gen = generator(seed)
    current, prev = torch.rand((2, n, c, h, w), generator=gen).to(dtypes[0])
    flow = (torch.rand((n, 2, h, w), generator=gen) * 2 - 1)
    flow *= reach * torch.tensor([w, h]).reshape(1, 2, 1, 1)
    confidence = torch.rand((n, 1, h, w), generator=gen)
    return current, prev, flow.to(dtypes[1]), confidence.to(dtypes[2])


def _expected(current: torch.Tensor, prev: torch.Tensor, flow: torch.Tensor,
              confidence: torch.Tensor) -> torch.Tensor:
    """The reference in float32 on the very same (possibly half) values."""
    return reference(current.float(), prev.float(), flow.float(),
                     confidence.float()).to(current.dtype)


@pytest.mark.parametrize("dtypes", DTYPES, ids=["f32", "f16-flow32", "f16"])
@pytest.mark.parametrize("shape", [(1, 5, 7, 13), (2, 32, 9, 17), (1, 3, 2, 2)], ids=str)
def test_kernel_matches_reference(shape: tuple[int, int, int, int],
                                  dtypes: tuple[torch.dtype, ...],
                                  triton_device: torch.device) -> None:
    inputs = [t.to(triton_device) for t in _inputs(shape, dtypes, seed=shape[1])]
    out = warp_blend(*inputs, backend="triton")
    assert out.dtype == dtypes[0] and out.shape == shape and out.device == inputs[0].device
    torch.testing.assert_close(out, _expected(*inputs), **TOLERANCES[dtypes[0]])


def test_small_flows_and_exact_edges(triton_device: torch.device) -> None:
    """Sub-pixel flows, integer flows, and samples exactly on the last row and column."""
    current, prev, flow, confidence = (
        t.to(triton_device) for t in _inputs((1, 4, 6, 9), DTYPES[0], seed=8, reach=0.1))
    flow[:, :, :, :3] = torch.tensor([2.0, -1.0], device=triton_device).reshape(1, 2, 1, 1)
    xs = torch.arange(9, dtype=torch.float32, device=triton_device)
    flow[:, 0, 5] = 8.0 - xs  # row 5 samples x = 8, the last column, exactly
    flow[:, 1, 5] = 0.0
    out = warp_blend(current, prev, flow, confidence, backend="triton")
    torch.testing.assert_close(out, _expected(current, prev, flow, confidence),
                               **TOLERANCES[torch.float32])


def test_non_contiguous_inputs(triton_device: torch.device) -> None:
    current, prev, flow, confidence = (
        t.to(triton_device) for t in _inputs((1, 6, 8, 5), DTYPES[0], seed=9))
    prev_view = prev.transpose(2, 3).contiguous().transpose(2, 3)  # same values, new strides
    assert not prev_view.is_contiguous()
    out = warp_blend(current, prev_view, flow, confidence, backend="triton")
    torch.testing.assert_close(out, _expected(current, prev, flow, confidence),
                               **TOLERANCES[torch.float32])


def test_torch_backend_is_the_reference_in_float32() -> None:
    inputs = _inputs((1, 5, 7, 13), DTYPES[0], seed=10)
    assert torch.equal(warp_blend(*inputs, backend="torch"), reference(*inputs))
    half = _inputs((1, 5, 7, 13), DTYPES[2], seed=10)
    out = warp_blend(*half, backend="torch")
    assert out.dtype == F16 and torch.equal(out, _expected(*half))


def _bad(name: str) -> tuple[torch.Tensor, ...]:
    current, prev, flow, confidence = _inputs((1, 4, 6, 5), DTYPES[0], seed=11)
    changes = {
        "prev": (current, prev[:, :3], flow, confidence),
        "flow": (current, prev, flow[:, :1], confidence),
        "confidence": (current, prev, flow, confidence.expand(1, 4, 6, 5)),
        "3d": (current[0], prev[0], flow, confidence),
        "tiny": tuple(t[..., :1, :] for t in (current, prev, flow, confidence)),
        "int": (current, prev, flow, (confidence > 0.5).to(torch.uint8)),
        "mixed": (current, prev.half(), flow, confidence),
    }
    return changes[name]


@pytest.mark.parametrize(("case", "message"), [
    ("prev", r"prev must be \(1, 4, 6, 5\)"), ("flow", r"flow must be \(1, 2, 6, 5\)"),
    ("confidence", r"confidence must be \(1, 1, 6, 5\)"), ("3d", r"must be \(N, C, h, w\)"),
    ("tiny", "at least 2x2"), ("int", "float16 or float32"), ("mixed", "prev is torch.float16"),
])
def test_wrong_inputs_raise(case: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        warp_blend(*_bad(case))


@pytest.mark.gpu
@pytest.mark.parametrize("dtypes", DTYPES, ids=["f32", "f16-flow32", "f16"])
@pytest.mark.parametrize("shape", [(1, 32, 180, 320), (1, 64, 270, 480), (2, 32, 135, 240)],
                         ids=str)
def test_kernel_matches_reference_on_cuda(shape: tuple[int, int, int, int],
                                          dtypes: tuple[torch.dtype, ...],
                                          cuda_device: torch.device) -> None:
    inputs = [t.to(cuda_device) for t in _inputs(shape, dtypes, seed=12, reach=0.2)]
    out = warp_blend(*inputs, backend="triton")
    # Feature maps this wide lose ~1e-4 px of position in the reference's round trip
    # through grid_sample's normalised coordinates, hence the looser float32 tolerance.
    tolerance = {"atol": 2e-4, "rtol": 1e-4} if dtypes[0] == F32 else TOLERANCES[F16]
    torch.testing.assert_close(out, _expected(*inputs), **tolerance)
