"""Which implementation runs a kernel call: the Triton kernel or the torch reference.

Every public kernel function takes ``backend``:

* ``"torch"``: the readable torch reference, on any device.
* ``"triton"``: the Triton kernel, never anything else. It runs compiled on CUDA tensors,
  or in Triton's interpreter on CPU tensors when ``TRITON_INTERPRET=1`` was set before the
  kernel's module was first imported (Triton 3.x reads the variable when ``@triton.jit``
  decorates a function, not at each launch). Any other combination raises
  :class:`~stylecast.errors.BackendUnavailable` saying why; this is how a benchmark forces
  the Triton path.
* ``"auto"`` (the default): ``"triton"`` where it can run as above, else the reference.
  Falling back because Triton is not installed is logged once per process, never per call.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
import os
from types import ModuleType

import torch

from stylecast.errors import BackendUnavailable

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "triton", "torch")
INSTALL_HINT = "pip install 'stylecast[gpu]'"


def triton_installed() -> bool:
    """True when the ``triton`` package can be imported (without importing it)."""
    try:
        return importlib.util.find_spec("triton") is not None
    except (ImportError, ValueError):  # ValueError: sys.modules["triton"] is None
        return False


@functools.cache
def _have_triton() -> bool:
    """triton_installed(), asked once per process: select() runs on every frame."""
    return triton_installed()


@functools.cache
def _load(module: str) -> ModuleType:
    """Import ``stylecast.kernels.<module>``, a module that imports triton."""
    try:
        return importlib.import_module(f"stylecast.kernels.{module}")
    except ModuleNotFoundError as exc:
        if exc.name != "triton" and not (exc.name or "").startswith("triton."):
            raise
        raise BackendUnavailable(
            f"the Triton kernels need the triton package, which is not installed; "
            f"{INSTALL_HINT} (or pass backend='torch' for the reference)") from exc


@functools.cache
def _warn_fallback(reason: str) -> None:
    logger.warning("stylecast.kernels: using the torch reference: %s", reason)


def _why_not(kernels: ModuleType, device: torch.device) -> str | None:
    """Why the Triton module's kernels cannot run on ``device``; None when they can."""
    if kernels.INTERPRETED:
        if device.type == "cpu":
            return None
        return (f"the Triton kernels were loaded in interpreter mode (TRITON_INTERPRET=1), "
                f"which runs on CPU tensors; these are on {device}")
    if device.type == "cuda":
        return None
    return (f"compiled Triton kernels need CUDA tensors; these are on {device} (set "
            "TRITON_INTERPRET=1 before the first kernel call to interpret them on the CPU)")


def select(backend: str, module: str, device: torch.device) -> ModuleType | None:
    """The Triton module to launch for a call on ``device``, or None for the reference.

    Args:
        backend: "auto", "triton" or "torch" (see the module docstring).
        module: name of the Triton module inside :mod:`stylecast.kernels`.
        device: device of the call's tensors.

    Raises:
        ValueError: ``backend`` is not one of :data:`BACKENDS`.
        BackendUnavailable: ``backend="triton"`` and the kernel cannot run here.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r} is not one of {', '.join(BACKENDS)}")
    if backend == "torch":
        return None
    if backend == "auto":
        if device.type != "cuda" and "TRITON_INTERPRET" not in os.environ:
            return None  # the common CPU case, decided without importing triton
        if not _have_triton():
            _warn_fallback(f"triton is not installed ({INSTALL_HINT})")
            return None
    kernels = _load(module)
    reason = _why_not(kernels, device)
    if reason is None:
        return kernels
    if backend == "triton":
        raise BackendUnavailable(reason)
    return None
