"""Where the kernel tests run the Triton kernels: compiled on a CUDA GPU, else in Triton's
CPU interpreter.

Triton 3.x reads TRITON_INTERPRET when ``@triton.jit`` decorates a kernel, that is when
stylecast.kernels first imports one of its ``*_triton`` modules, which nothing does before
this conftest is imported. Without a GPU it is switched on here; a TRITON_INTERPRET already
in the environment wins.
"""

from __future__ import annotations

import os

import pytest
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")


def _kernels_interpreted() -> bool:
    pytest.importorskip("triton", reason="the Triton kernels need triton (the [dev] or [gpu] "
                                         "extra)")
    from stylecast.kernels import preprocess_triton

    return bool(preprocess_triton.INTERPRETED)


@pytest.fixture(scope="session")
def triton_device() -> torch.device:
    """The device the Triton kernels run on here: CPU when interpreted, else CUDA."""
    if _kernels_interpreted():
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    pytest.skip("the Triton kernels are compiled and there is no CUDA GPU; set "
                "TRITON_INTERPRET=1 to interpret them")


@pytest.fixture(scope="session")
def cuda_device() -> torch.device:
    """A CUDA device running compiled kernels, for the tests marked gpu; skips otherwise."""
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    if _kernels_interpreted():
        pytest.skip("TRITON_INTERPRET is set: the kernels are interpreted, not compiled")
    return torch.device("cuda")
