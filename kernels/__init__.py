"""Custom kernels (Triton), each beside a readable torch reference.

The package lives in the top-level ``kernels/`` folder and is installed as
``stylecast.kernels`` (pyproject.toml maps the one onto the other). Triton is optional
(``pip install 'stylecast[gpu]'``): every module here imports without it, and only the
``*_triton`` modules, which the public functions import on first use, need it.

Public operations, one module each:

* :func:`stylecast.kernels.preprocess.preprocess`: a captured uint8 frame (rgb24, bgr24,
  bgra, yuyv422, nv12) -> (1, 3, h, w) float RGB in [0, 1], resized bilinearly.
* :func:`stylecast.kernels.postprocess.postprocess`: (1, 3, h, w) float RGB -> uint8
  rgb24, bgra or nv12.
* :func:`stylecast.kernels.warp_blend.warp_blend`: the temporal cache's warp-and-blend of
  feature maps, fused.

Each takes ``backend="auto" | "triton" | "torch"``; see :mod:`stylecast.kernels.dispatch`
for which implementation runs. The references are :mod:`stylecast.kernels.reference` and
:mod:`stylecast.temporal.warp`.
"""

from stylecast.kernels.dispatch import BACKENDS, triton_installed

__all__ = ["BACKENDS", "triton_installed"]
