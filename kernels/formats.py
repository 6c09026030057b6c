"""Pixel formats of captured and emitted frames, and the Y'CbCr matrices.

Shared by the Triton kernels and their torch references, so both read the same layouts and
the same coefficients. Frames are uint8 tensors on any device:

==========  ==================  =====================================================
format      shape               layout
==========  ==================  =====================================================
rgb24       (H, W, 3)           R, G, B per pixel
bgr24       (H, W, 3)           B, G, R per pixel
bgra        (H, W, 4)           B, G, R, A per pixel (A ignored on input, 255 on output)
yuyv422     (H, W * 2)          Y0 U Y1 V per pixel pair; W even
nv12        (H * 3 // 2, W)     H rows of Y, then H/2 rows of interleaved U V; H, W even
==========  ==================  =====================================================

YUV is limited ("studio", "TV") range, as cameras and encoders deliver it: Y in [16, 235],
U and V in [16, 240] centred on 128. The matrix is BT.601 by default (SD video, most
webcams), BT.709 on request (HD video). Chroma is shared by the pixels of its 2x1
(yuyv422) or 2x2 (nv12) block on input (nearest, no interpolation) and averaged over the
block on output.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

INPUT_FORMATS = ("rgb24", "bgr24", "bgra", "yuyv422", "nv12")
OUTPUT_FORMATS = ("rgb24", "bgra", "nv12")
FLOAT_DTYPES = (torch.float16, torch.float32)

# Bytes per pixel of the packed RGB formats.
RGB_CHANNELS = {"rgb24": 3, "bgr24": 3, "bgra": 4}


@dataclass(frozen=True)
class YCbCr:
    """One Y'CbCr matrix, limited range. ``kr`` and ``kb`` are the luma weights of R and B."""

    name: str
    kr: float
    kb: float

    @property
    def kg(self) -> float:
        return 1.0 - self.kr - self.kb

    def decode(self) -> tuple[float, float, float, float, float]:
        """(ys, rv, gu, gv, bu): with y = Y - 16, u = U - 128, v = V - 128 in byte units,
        R = ys*y + rv*v, G = ys*y - gu*u - gv*v, B = ys*y + bu*u, in [0, 1] before clamping.
        """
        kr, kg, kb = self.kr, self.kg, self.kb
        return (1.0 / 219.0, 2.0 * (1.0 - kr) / 224.0, 2.0 * (1.0 - kb) * kb / kg / 224.0,
                2.0 * (1.0 - kr) * kr / kg / 224.0, 2.0 * (1.0 - kb) / 224.0)

    def encode(self) -> tuple[tuple[float, float, float], ...]:
        """Rows (Y, U, V) of the matrix taking R, G, B in [0, 1] to byte units; add
        (16, 128, 128) to the products."""
        kr, kg, kb = self.kr, self.kg, self.kb
        su, sv = 224.0 / (2.0 * (1.0 - kb)), 224.0 / (2.0 * (1.0 - kr))
        return ((219.0 * kr, 219.0 * kg, 219.0 * kb),
                (-su * kr, -su * kg, su * (1.0 - kb)),
                (sv * (1.0 - kr), -sv * kg, -sv * kb))


MATRICES = {m.name: m for m in (YCbCr("bt601", 0.299, 0.114), YCbCr("bt709", 0.2126, 0.0722))}


def ycbcr(name: str) -> YCbCr:
    """The :class:`YCbCr` called ``name`` ("bt601" or "bt709"); ValueError otherwise."""
    try:
        return MATRICES[name]
    except KeyError:
        raise ValueError(f"matrix {name!r} is not one of {', '.join(MATRICES)}") from None


def frame_size(frame: torch.Tensor, fmt: str) -> tuple[int, int]:
    """(H, W) in pixels of a uint8 ``frame`` in format ``fmt``.

    Raises:
        ValueError: ``fmt`` is unknown, or the dtype or shape does not fit it (the message
            gives the expected shape).
    """
    if fmt not in INPUT_FORMATS:
        raise ValueError(f"pixel format {fmt!r} is not one of {', '.join(INPUT_FORMATS)}")
    if frame.dtype != torch.uint8:
        raise ValueError(f"a {fmt} frame must be uint8; got {frame.dtype}")
    shape = tuple(frame.shape)
    if fmt in RGB_CHANNELS:
        channels = RGB_CHANNELS[fmt]
        if len(shape) != 3 or shape[2] != channels or not shape[0] or not shape[1]:
            raise ValueError(f"a {fmt} frame must be (H, W, {channels}); got {shape}")
        return shape[0], shape[1]
    if fmt == "yuyv422":
        if len(shape) != 2 or shape[1] % 4 or not shape[0] or not shape[1]:
            raise ValueError(f"a yuyv422 frame must be (H, W * 2) with W even; got {shape}")
        return shape[0], shape[1] // 2
    if len(shape) != 2 or shape[0] % 3 or shape[1] % 2 or not shape[0] or not shape[1]:
        raise ValueError(f"an nv12 frame must be (H * 3 // 2, W) with H and W even; "
                         f"got {shape}")
    return shape[0] * 2 // 3, shape[1]


def frame_shape(fmt: str, height: int, width: int) -> tuple[int, ...]:
    """The tensor shape of a ``height`` x ``width`` frame in ``fmt`` (inverse of
    :func:`frame_size`); ValueError for an unknown format or odd sizes it cannot hold."""
    if fmt not in INPUT_FORMATS:
        raise ValueError(f"pixel format {fmt!r} is not one of {', '.join(INPUT_FORMATS)}")
    if fmt in RGB_CHANNELS:
        return height, width, RGB_CHANNELS[fmt]
    if fmt == "yuyv422" and width % 2 == 0:
        return height, width * 2
    if fmt == "nv12" and height % 2 == 0 and width % 2 == 0:
        return height * 3 // 2, width
    raise ValueError(f"{fmt} cannot hold a {height}x{width} (h x w) frame: the width"
                     f"{' and height' if fmt == 'nv12' else ''} must be even")


def image_size(image: torch.Tensor) -> tuple[int, int]:
    """(h, w) of a (1, 3, h, w) float16/float32 network image; ValueError otherwise."""
    if image.ndim != 4 or image.shape[0] != 1 or image.shape[1] != 3:
        raise ValueError(f"the image must be (1, 3, h, w); got {tuple(image.shape)}")
    if image.dtype not in FLOAT_DTYPES:
        raise ValueError(f"the image must be float16 or float32; got {image.dtype}")
    if not image.shape[2] or not image.shape[3]:
        raise ValueError(f"the image is empty: {tuple(image.shape)}")
    return image.shape[2], image.shape[3]


def output_size(size: tuple[int, int] | None, frame_hw: tuple[int, int]) -> tuple[int, int]:
    """``size`` (height, width) checked, or the frame's own size when None."""
    if size is None:
        return frame_hw
    if (not isinstance(size, tuple | list) or len(size) != 2
            or not all(isinstance(s, int) and s > 0 for s in size)):
        raise ValueError(f"size must be (height, width), two positive ints; got {size!r}")
    return size[0], size[1]
