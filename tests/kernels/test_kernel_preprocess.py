"""preprocess: the Triton kernel against the torch reference, the reference against known
colours, and the errors at the boundary."""

from __future__ import annotations

import pytest
import torch
from kernel_helpers import TOLERANCES, random_frame

from stylecast.kernels.preprocess import preprocess
from stylecast.kernels.reference import preprocess_reference

# (format, frame (H, W)): odd sizes wherever the format allows them.
FRAMES = [
    ("rgb24", (7, 13)), ("rgb24", (33, 17)), ("bgr24", (7, 13)), ("bgra", (33, 17)),
    ("yuyv422", (7, 14)), ("yuyv422", (33, 18)), ("nv12", (8, 14)), ("nv12", (34, 18)),
]
# Output (h, w): same size, down, up, and up in one axis while down in the other.
SIZES = [None, (5, 9), (17, 31), (3, 40)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["f32", "f16"])
@pytest.mark.parametrize("size", SIZES, ids=str)
@pytest.mark.parametrize(("fmt", "hw"), FRAMES, ids=str)
def test_kernel_matches_reference(fmt: str, hw: tuple[int, int], size: tuple[int, int] | None,
                                  dtype: torch.dtype, triton_device: torch.device) -> None:
    frame = random_frame(fmt, *hw, seed=hw[0] * hw[1]).to(triton_device)
    out = preprocess(frame, fmt, size=size, dtype=dtype, backend="triton")
    expected = preprocess_reference(frame, fmt, size=size, dtype=dtype)
    assert out.shape == (1, 3, *(size or hw)) and out.dtype == dtype
    assert out.is_contiguous() and out.device == frame.device
    torch.testing.assert_close(out, expected, **TOLERANCES[dtype])


@pytest.mark.parametrize("fmt", ["yuyv422", "nv12"])
def test_bt709_matches_reference(fmt: str, triton_device: torch.device) -> None:
    frame = random_frame(fmt, 10, 14, seed=3).to(triton_device)
    out = preprocess(frame, fmt, size=(6, 9), matrix="bt709", dtype=torch.float32,
                     backend="triton")
    expected = preprocess_reference(frame, fmt, size=(6, 9), matrix="bt709",
                                    dtype=torch.float32)
    torch.testing.assert_close(out, expected, **TOLERANCES[torch.float32])
    bt601 = preprocess_reference(frame, fmt, size=(6, 9), dtype=torch.float32)
    assert (expected - bt601).abs().max() > 0.01  # the matrix really changes the colours


def test_row_pitched_frame_view(triton_device: torch.device) -> None:
    """A cropped view (rows longer than the picture) is read in place, as the reference."""
    frame = random_frame("bgra", 9, 20, seed=4).to(triton_device)[:, 3:16]
    out = preprocess(frame, "bgra", size=(4, 6), dtype=torch.float32, backend="triton")
    expected = preprocess_reference(frame, "bgra", size=(4, 6), dtype=torch.float32)
    torch.testing.assert_close(out, expected, **TOLERANCES[torch.float32])


def _nv12(y: int, u: int, v: int) -> torch.Tensor:
    frame = torch.empty(3, 2, dtype=torch.uint8)
    frame[:2], frame[2, 0], frame[2, 1] = y, u, v
    return frame


@pytest.mark.parametrize(("yuv", "rgb"), [
    ((16, 128, 128), (0.0, 0.0, 0.0)),  # limited-range black
    ((235, 128, 128), (1.0, 1.0, 1.0)),  # limited-range white
    ((81, 90, 240), (1.0, 0.0, 0.0)),  # BT.601 red, rounded to bytes
    ((145, 54, 34), (0.0, 1.0, 0.0)),  # BT.601 green
    ((41, 240, 110), (0.0, 0.0, 1.0)),  # BT.601 blue
])
def test_reference_decodes_bt601_limited_range(yuv: tuple[int, int, int],
                                               rgb: tuple[float, float, float]) -> None:
    out = preprocess_reference(_nv12(*yuv), "nv12", dtype=torch.float32)
    expected = torch.tensor(rgb).reshape(1, 3, 1, 1).expand(1, 3, 2, 2)
    # Byte rounding of the YUV triplets moves each channel by up to ~1 %.
    torch.testing.assert_close(out, expected, atol=0.012, rtol=0)


def test_reference_formats_agree_on_one_picture() -> None:
    """rgb24, bgr24 and bgra of the same pixels give the same image."""
    rgb = random_frame("rgb24", 5, 7, seed=5)
    bgra = torch.cat((rgb.flip(-1), torch.zeros(5, 7, 1, dtype=torch.uint8)), dim=-1)
    expected = preprocess_reference(rgb, "rgb24", dtype=torch.float32)
    torch.testing.assert_close(preprocess_reference(rgb.flip(-1).contiguous(), "bgr24",
                                                    dtype=torch.float32), expected)
    torch.testing.assert_close(preprocess_reference(bgra, "bgra", dtype=torch.float32), expected)


def test_auto_on_cpu_without_interpreter_is_the_reference(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    frame = random_frame("yuyv422", 7, 14, seed=6)
    assert torch.equal(preprocess(frame, "yuyv422", size=(5, 9)),
                       preprocess_reference(frame, "yuyv422", size=(5, 9)))


@pytest.mark.parametrize(("frame", "fmt", "message"), [
    (torch.zeros(4, 6, 3, dtype=torch.uint8), "rgb", "is not one of rgb24, bgr24"),
    (torch.zeros(4, 6, 3, dtype=torch.uint8), "bgra", r"must be \(H, W, 4\)"),
    (torch.zeros(4, 6, 3, dtype=torch.uint8), "nv12", r"must be \(H \* 3 // 2, W\)"),
    (torch.zeros(6, 6, dtype=torch.uint8), "yuyv422", "W even"),
    (torch.zeros(7, 6, dtype=torch.uint8), "nv12", "H and W even"),
    (torch.zeros(4, 6, 3), "rgb24", "must be uint8"),
])
def test_wrong_frame_for_format_raises(frame: torch.Tensor, fmt: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        preprocess(frame, fmt, backend="torch")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"size": (0, 4)}, "two positive ints"),
    ({"size": 64}, "two positive ints"),
    ({"dtype": torch.bfloat16}, "float16 or torch.float32"),
    ({"matrix": "bt2020"}, "bt601, bt709"),
    ({"backend": "cuda"}, "auto, triton, torch"),
])
def test_bad_arguments_raise(kwargs: dict[str, object], message: str) -> None:
    frame = torch.zeros(4, 6, 3, dtype=torch.uint8)
    with pytest.raises(ValueError, match=message):
        preprocess(frame, "rgb24", **kwargs)  # type: ignore[arg-type]  # invalid options on purpose


@pytest.mark.gpu
@pytest.mark.parametrize(("fmt", "hw", "size"), [
    ("nv12", (1080, 1920), None), ("nv12", (1080, 1920), (720, 1280)),
    ("yuyv422", (720, 1280), (360, 640)), ("bgra", (1080, 1920), (720, 1280)),
    ("rgb24", (720, 1280), (1080, 1920)), ("bgr24", (1080, 1920), None),
], ids=str)
def test_kernel_matches_reference_on_cuda(fmt: str, hw: tuple[int, int],
                                          size: tuple[int, int] | None,
                                          cuda_device: torch.device) -> None:
    frame = random_frame(fmt, *hw, seed=7).to(cuda_device)
    for dtype in (torch.float16, torch.float32):
        out = preprocess(frame, fmt, size=size, dtype=dtype, backend="triton")
        expected = preprocess_reference(frame, fmt, size=size, dtype=dtype)
        torch.testing.assert_close(out, expected, **TOLERANCES[dtype])
