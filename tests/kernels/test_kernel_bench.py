"""The bandwidth helper behind `stylecast bench --gpu`."""

from __future__ import annotations

import pytest
import torch

from stylecast.errors import BackendUnavailable
from stylecast.kernels.bench import KERNELS, BandwidthResult, measure


def test_without_cuda_it_says_a_gpu_is_needed() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(BackendUnavailable, match="needs a CUDA GPU"):
        measure("preprocess", (720, 1280), "nv12", 10)


@pytest.mark.parametrize(("args", "message"), [
    (("resize", (720, 1280), "nv12", 10), "is not one of preprocess"),
    (("postprocess", (720, 1280), "nv12", 0), "iters must be >= 1"),
])
def test_bad_arguments_raise_before_touching_a_device(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        measure(*args)


@pytest.mark.gpu
@pytest.mark.parametrize(("kernel", "fmt"), [("preprocess", "nv12"), ("preprocess", "bgra"),
                                             ("postprocess", "nv12"), ("postprocess", "rgb24"),
                                             ("warp_blend", None)])
def test_measures_each_kernel_on_cuda(kernel: str, fmt: str | None,
                                      cuda_device: torch.device) -> None:
    size = (270, 480) if kernel == "warp_blend" else (720, 1280)
    result = measure(kernel, size, fmt, 5, warmup=2)
    assert isinstance(result, BandwidthResult) and result.kernel in KERNELS
    assert result.triton_ms > 0 and result.reference_ms > 0
    assert result.triton_gbps == pytest.approx(result.bytes_moved / result.triton_ms / 1e6)
    assert result.bytes_moved > 720 * 1280 or kernel == "warp_blend"
