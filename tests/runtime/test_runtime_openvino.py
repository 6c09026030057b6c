"""OpenVINO: f32 numerics against torch, explicit precisions, no silent bf16 fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from runtime_helpers import (
    PRESERVE,
    STRENGTH,
    STYLE,
    assert_close_to_reference,
    make_frame,
    torch_reference,
)

from stylecast.errors import BackendUnavailable
from stylecast.model.network import StyleNetwork
from stylecast.runtime.base import Capabilities

pytest.importorskip("openvino")
from stylecast.runtime.openvino_runtime import OpenVinoRuntime  # noqa: E402

CPU_BF16 = "bf16" in OpenVinoRuntime.capabilities().precisions


def _open(network: StyleNetwork, cache_dir: Path, precision: str) -> OpenVinoRuntime:
    runtime = OpenVinoRuntime(network=network, precision=precision, threads=1,
                              cache_dir=cache_dir)
    runtime.open()
    return runtime


@pytest.mark.slow
def test_f32_matches_torch_at_two_sizes(network: StyleNetwork, cache_dir: Path) -> None:
    runtime = _open(network, cache_dir, "f32")
    try:
        assert runtime.info.precision == "f32"
        compiled = next(iter(runtime._compiled.values()))[0]
        assert compiled.get_property("INFERENCE_NUM_THREADS") == 1
        assert str(compiled.get_property("PERFORMANCE_HINT")) == "LATENCY"
        for height, width in ((68, 52), (132, 100), (68, 52)):
            frame = make_frame(height, width, seed=height)
            out = runtime.infer(frame, STYLE, STRENGTH, PRESERVE)
            assert_close_to_reference(out, torch_reference(network, frame))
        # The result is the caller's: the next frame must not overwrite it.
        first = runtime.infer(make_frame(68, 52, seed=1), STYLE, STRENGTH, PRESERVE)
        kept = first.copy()
        runtime.infer(make_frame(68, 52, seed=2), STYLE, STRENGTH, PRESERVE)
        np.testing.assert_array_equal(first, kept)
    finally:
        runtime.close()
        runtime.close()  # idempotent


@pytest.mark.slow
def test_auto_precision_is_reported(network: StyleNetwork, cache_dir: Path) -> None:
    runtime = _open(network, cache_dir, "auto")
    try:
        assert runtime.info.precision == ("bf16" if CPU_BF16 else "f32")
        assert runtime.info.device.startswith("cpu")
    finally:
        runtime.close()


@pytest.mark.slow
@pytest.mark.skipif(not CPU_BF16, reason="this CPU has no native bf16")
def test_bf16_runs_and_reports_bf16(network: StyleNetwork, cache_dir: Path) -> None:
    runtime = _open(network, cache_dir, "bf16")
    try:
        assert runtime.info.precision == "bf16"
        frame = make_frame(68, 52)
        out = runtime.infer(frame, STYLE, STRENGTH, PRESERVE)
        diff = np.abs(out.astype(np.int16) - torch_reference(network, frame).astype(np.int16))
        assert diff.mean() < 2.0  # bf16 is a few levels off at worst, not a different image
    finally:
        runtime.close()


@pytest.mark.skipif(CPU_BF16, reason="this CPU has native bf16")
def test_bf16_refused_without_cpu_support(network: StyleNetwork, cache_dir: Path) -> None:
    with pytest.raises(BackendUnavailable, match="cannot run bf16"):
        _open(network, cache_dir, "bf16")


@pytest.mark.slow
@pytest.mark.skipif(CPU_BF16, reason="this CPU has native bf16")
def test_silent_openvino_downgrade_is_caught(
    network: StyleNetwork, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Claim bf16 although the CPU lacks it: OpenVINO then quietly compiles f32, which the
    # runtime must notice when it reads the precision back.
    monkeypatch.setattr(OpenVinoRuntime, "_capabilities_of", staticmethod(
        lambda core: Capabilities(device="cpu: fake", precisions=("bf16", "f32"))))
    with pytest.raises(BackendUnavailable, match="compiled at f32, not the bf16"):
        _open(network, cache_dir, "bf16")


def test_f16_is_refused_not_downgraded(network: StyleNetwork, cache_dir: Path) -> None:
    with pytest.raises(BackendUnavailable, match="cannot run f16"):
        _open(network, cache_dir, "f16")


def test_missing_openvino_says_how_to_install(
    network: StyleNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(__import__("sys").modules, "openvino", None)
    with pytest.raises(BackendUnavailable, match=r"pip install openvino"):
        OpenVinoRuntime(network=network).open()
