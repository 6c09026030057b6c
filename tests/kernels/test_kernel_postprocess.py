"""postprocess: the Triton kernels against the torch reference, the reference against known
bytes, and the errors at the boundary."""

from __future__ import annotations

import pytest
import torch
from kernel_helpers import assert_bytes_close, generator

from stylecast.kernels.postprocess import postprocess
from stylecast.kernels.reference import postprocess_reference

CASES = [("rgb24", (7, 13)), ("rgb24", (33, 17)), ("bgra", (7, 13)), ("bgra", (33, 17)),
         ("nv12", (6, 14)), ("nv12", (34, 18))]


def _image(hw: tuple[int, int], dtype: torch.dtype, seed: int = 0) -> torch.Tensor:
    """Random RGB reaching a little outside [0, 1], so the clamp is exercised."""
    return (torch.rand((1, 3, *hw), generator=generator(seed)) * 1.2 - 0.1).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["f32", "f16"])
@pytest.mark.parametrize(("fmt", "hw"), CASES, ids=str)
def test_kernel_matches_reference(fmt: str, hw: tuple[int, int], dtype: torch.dtype,
                                  triton_device: torch.device) -> None:
    image = _image(hw, dtype, seed=hw[0]).to(triton_device)
    out = postprocess(image, fmt, backend="triton")
    assert out.is_contiguous() and out.device == image.device
    assert_bytes_close(out, postprocess_reference(image, fmt))


@pytest.mark.parametrize("fmt", ["rgb24", "bgra", "nv12"])
def test_strided_image(fmt: str, triton_device: torch.device) -> None:
    """A channels-last image (what some runtimes hand back) is read in place."""
    image = _image((10, 12), torch.float32, seed=1).to(triton_device)
    channels_last = image.contiguous(memory_format=torch.channels_last)
    assert_bytes_close(postprocess(channels_last, fmt, backend="triton"),
                       postprocess_reference(image, fmt))


def test_bt709_nv12_matches_reference(triton_device: torch.device) -> None:
    image = _image((8, 10), torch.float32, seed=2).to(triton_device)
    out = postprocess(image, "nv12", matrix="bt709", backend="triton")
    assert_bytes_close(out, postprocess_reference(image, "nv12", matrix="bt709"))


def test_reference_rounds_like_the_frame_graph() -> None:
    """Each byte level k and the half-way point k + 0.5 above it, as FrameGraph rounds."""
    levels = torch.arange(256, dtype=torch.float32)
    values = torch.cat((levels, levels[:-1] + 0.5)) / 255.0
    image = values.reshape(1, 1, 1, -1).expand(1, 3, 1, -1)
    expected = (image[0].permute(1, 2, 0) * 255.0 + 0.5).to(torch.uint8)
    assert torch.equal(postprocess_reference(image, "rgb24"), expected)
    assert postprocess_reference(image, "rgb24")[0, 256:, 0].tolist() == list(range(1, 256))


@pytest.mark.parametrize(("rgb", "yuv"), [
    ((0.0, 0.0, 0.0), (16, 128, 128)), ((1.0, 1.0, 1.0), (235, 128, 128)),
    ((1.0, 0.0, 0.0), (81, 90, 240)), ((0.0, 1.0, 0.0), (145, 54, 34)),
    ((0.0, 0.0, 1.0), (41, 240, 110)), ((2.0, -1.0, 0.0), (81, 90, 240)),  # clamped
])
def test_reference_encodes_bt601_limited_range(rgb: tuple[float, float, float],
                                               yuv: tuple[int, int, int]) -> None:
    image = torch.tensor(rgb).reshape(1, 3, 1, 1).expand(1, 3, 2, 4)
    out = postprocess_reference(image, "nv12")
    assert out.shape == (3, 4)
    assert out[:2].unique().tolist() == [yuv[0]]
    assert out[2].tolist() == [yuv[1], yuv[2], yuv[1], yuv[2]]


def test_reference_averages_chroma_over_2x2_blocks() -> None:
    image = torch.zeros(1, 3, 2, 2)
    image[0, 0, 0, 0] = 1.0  # one red pixel of four
    out = postprocess_reference(image, "nv12")
    # A quarter of red's chroma offsets (90 - 128, 240 - 128), rounded half up.
    assert out[2].tolist() == [int(128 - 37.797 / 4 + 0.5), int(128 + 112 / 4 + 0.5)]


def test_reference_bgra_is_reversed_rgb_with_opaque_alpha() -> None:
    image = _image((5, 7), torch.float32, seed=3)
    rgb, bgra = postprocess_reference(image, "rgb24"), postprocess_reference(image, "bgra")
    assert torch.equal(bgra[..., :3], rgb.flip(-1))
    assert bgra[..., 3].unique().tolist() == [255]


@pytest.mark.parametrize(("image", "fmt", "message"), [
    (torch.zeros(1, 3, 7, 8), "nv12", "even height and width"),
    (torch.zeros(1, 3, 8, 7), "nv12", "even height and width"),
    (torch.zeros(1, 3, 8, 8), "yuyv422", "is not one of rgb24, bgra, nv12"),
    (torch.zeros(3, 8, 8), "rgb24", r"must be \(1, 3, h, w\)"),
    (torch.zeros(2, 3, 8, 8), "rgb24", r"must be \(1, 3, h, w\)"),
    (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), "rgb24", "float16 or float32"),
])
def test_wrong_image_for_format_raises(image: torch.Tensor, fmt: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        postprocess(image, fmt)


@pytest.mark.gpu
@pytest.mark.parametrize("fmt", ["rgb24", "bgra", "nv12"])
@pytest.mark.parametrize("hw", [(720, 1280), (1080, 1920)], ids=str)
def test_kernel_matches_reference_on_cuda(fmt: str, hw: tuple[int, int],
                                          cuda_device: torch.device) -> None:
    for dtype in (torch.float16, torch.float32):
        image = _image(hw, dtype, seed=4).to(cuda_device)
        assert_bytes_close(postprocess(image, fmt, backend="triton"),
                           postprocess_reference(image, fmt))
