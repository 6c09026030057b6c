"""Which implementation runs: Triton stays optional, "triton" never falls back silently,
"auto" falls back to the reference."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest
import torch

from stylecast.errors import BackendUnavailable
from stylecast.kernels import dispatch
from stylecast.kernels.postprocess import postprocess
from stylecast.kernels.preprocess import preprocess
from stylecast.kernels.reference import postprocess_reference, preprocess_reference

TRITON_MODULES = ("preprocess_triton", "postprocess_triton", "warp_blend_triton")


@pytest.fixture
def no_triton(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make ``import triton`` fail as it does when the package is not installed."""
    monkeypatch.setitem(sys.modules, "triton", None)
    for name in TRITON_MODULES:
        monkeypatch.delitem(sys.modules, f"stylecast.kernels.{name}", raising=False)
    caches = (dispatch._load, dispatch._have_triton, dispatch._warn_fallback)
    for cache in caches:
        cache.cache_clear()
    yield
    for cache in caches:
        cache.cache_clear()


def test_package_imports_and_runs_without_triton() -> None:
    """In a fresh interpreter where triton cannot be imported, every public module imports
    and the reference runs."""
    script = (
        "import sys; sys.modules['triton'] = None\n"
        "import torch\n"
        "import stylecast.kernels, stylecast.kernels.bench\n"
        "from stylecast.kernels.preprocess import preprocess\n"
        "from stylecast.kernels.postprocess import postprocess\n"
        "from stylecast.kernels.warp_blend import warp_blend\n"
        "assert not stylecast.kernels.triton_installed()\n"
        "image = preprocess(torch.zeros(4, 6, 3, dtype=torch.uint8), 'rgb24')\n"
        "assert postprocess(image, 'nv12').shape == (6, 6)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr


def test_forced_triton_without_triton_says_how_to_install(no_triton: None) -> None:
    frame = torch.zeros(4, 6, 3, dtype=torch.uint8)
    with pytest.raises(BackendUnavailable, match=r"pip install 'stylecast\[gpu\]'"):
        preprocess(frame, "rgb24", backend="triton")


def test_auto_without_triton_falls_back_and_warns_once(
        no_triton: None, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("TRITON_INTERPRET", "1")  # would pick the interpreter if it could
    image = torch.rand(1, 3, 4, 6)
    with caplog.at_level(logging.WARNING, logger="stylecast.kernels.dispatch"):
        for _ in range(3):
            out = postprocess(image, "bgra")
    assert torch.equal(out, postprocess_reference(image, "bgra"))
    warnings = [r for r in caplog.records if "triton is not installed" in r.getMessage()]
    assert len(warnings) == 1


def test_auto_on_cpu_without_interpreter_does_not_import_triton(
        no_triton: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    frame = torch.zeros(4, 6, 2, dtype=torch.uint8).reshape(4, 12)
    assert torch.equal(preprocess(frame, "yuyv422"), preprocess_reference(frame, "yuyv422"))
    assert dispatch._load.cache_info().currsize == 0


def test_unknown_backend_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="auto, triton, torch"):
        dispatch.select("cuda", "preprocess_triton", torch.device("cpu"))


def test_interpreted_kernels_refuse_cuda_tensors() -> None:
    """With TRITON_INTERPRET=1 the kernels are interpreted: "triton" on a CUDA device is
    an error naming the cause, "auto" takes the reference."""
    pytest.importorskip("triton")
    from stylecast.kernels import preprocess_triton

    if not preprocess_triton.INTERPRETED:
        pytest.skip("the kernels are compiled in this session")
    cuda = torch.device("cuda")
    with pytest.raises(BackendUnavailable, match="interpreter mode"):
        dispatch.select("triton", "preprocess_triton", cuda)
    assert dispatch.select("auto", "preprocess_triton", cuda) is None
    assert dispatch.select("auto", "preprocess_triton", torch.device("cpu")) is not None
