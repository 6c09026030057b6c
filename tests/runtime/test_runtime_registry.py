"""Runtime registry: auto-selection, explicit names, precision refusal, doctor rows."""

from __future__ import annotations

import logging
import sys
import types

import numpy as np
import pytest
import torch

from stylecast.errors import BackendUnavailable, ConfigError, EngineBuildError
from stylecast.model.network import StyleNetwork
from stylecast.runtime import AUTO_ORDER, RUNTIMES, describe_runtimes, open_runtime, registry
from stylecast.runtime.base import Runtime, RuntimeInfo
from stylecast.runtime.pytorch import TorchRuntime
from stylecast.runtime.tensorrt.runtime import TensorRTRuntime
from stylecast.runtime.torch_cuda.runtime import TorchCudaRuntime


def _fake(name: str, error: Exception | None, opened: list[str]) -> type[Runtime]:
    """A runtime class whose open() raises ``error`` (or succeeds) and records the attempt."""

    class Fake(Runtime):
        def open(self) -> None:
            opened.append(name)
            if error is not None:
                raise error

        def infer(self, frame: np.ndarray, style: np.ndarray, strength: float,
                  preserve: float) -> np.ndarray:
            return frame

        def close(self) -> None:
            pass

        @property
        def info(self) -> RuntimeInfo:
            return RuntimeInfo(name=name, device="fake", precision="f32")

    Fake.name = name
    return Fake


def _install_fakes(
    monkeypatch: pytest.MonkeyPatch, errors: dict[str, Exception | None]
) -> list[str]:
    opened: list[str] = []
    for name in AUTO_ORDER:
        monkeypatch.setitem(RUNTIMES, name, _fake(name, errors.get(name), opened))
    return opened


def test_registry_covers_auto_order() -> None:
    assert set(AUTO_ORDER) == set(RUNTIMES)
    assert all(RUNTIMES[name].name == name for name in RUNTIMES)


def test_auto_logs_one_line_per_fallback_absent_at_debug_broken_as_warning(
    network: StyleNetwork, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A runtime the machine lacks is expected (debug); one that breaks is a fault (warning)."""
    opened = _install_fakes(monkeypatch, {
        "tensorrt": BackendUnavailable("no tensorrt here"),
        "torch-cuda": BackendUnavailable("no cuda here"),
        "openvino": EngineBuildError("openvino compile broke"),
    })
    with caplog.at_level(logging.DEBUG, logger=registry.__name__):
        runtime = open_runtime("auto", network=network)
    assert runtime.info.name == "onnxruntime"
    assert opened == ["tensorrt", "torch-cuda", "openvino", "onnxruntime"]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(debug) == 2
    for name, reason in (("tensorrt", "no tensorrt here"), ("torch-cuda", "no cuda here")):
        assert any(name in line and reason in line for line in debug)
    assert len(warned) == 1
    assert "openvino" in warned[0] and "openvino compile broke" in warned[0]


def test_auto_lists_every_reason_when_nothing_opens(
    network: StyleNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_fakes(monkeypatch, {n: BackendUnavailable(f"reason-{n}") for n in AUTO_ORDER})
    with pytest.raises(BackendUnavailable) as info:
        open_runtime("auto", network=network)
    for name in AUTO_ORDER:
        assert f"{name}: reason-{name}" in str(info.value)


def test_explicit_name_never_falls_back(
    network: StyleNetwork, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    opened = _install_fakes(monkeypatch, {"openvino": BackendUnavailable("openvino is out")})
    with pytest.raises(BackendUnavailable, match="openvino is out"):
        open_runtime("openvino", network=network)
    assert opened == ["openvino"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_unknown_runtime_lists_valid_names(network: StyleNetwork) -> None:
    with pytest.raises(ConfigError) as info:
        open_runtime("tensorflow", network=network)
    message = str(info.value)
    assert "'tensorflow'" in message
    for name in ("auto", *AUTO_ORDER):
        assert name in message


def test_unknown_precision_is_a_config_error(network: StyleNetwork) -> None:
    with pytest.raises(ConfigError, match="f32"):
        open_runtime("torch", network=network, precision="fp33")


def test_precision_never_downgraded(network: StyleNetwork) -> None:
    for name in ("torch", "onnxruntime"):
        with pytest.raises(BackendUnavailable, match="bf16"):
            open_runtime(name, network=network, precision="bf16")


def test_torch_opens_by_name(network: StyleNetwork) -> None:
    runtime = open_runtime("torch", network=network)
    assert isinstance(runtime, TorchRuntime) and runtime.info.precision == "f32"
    runtime.close()


def test_torch_cuda_unavailable_without_cuda(
    network: StyleNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(BackendUnavailable, match="no CUDA device"):
        TorchCudaRuntime(network=network).open()


def test_tensorrt_not_installed(network: StyleNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # import raises ImportError
    with pytest.raises(BackendUnavailable,
                       match=r"TensorRT is not installed.*pip install 'stylecast\[tensorrt\]'"):
        TensorRTRuntime(network=network).open()


def test_tensorrt_without_gpu(network: StyleNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", types.SimpleNamespace(__version__="10.0"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(BackendUnavailable, match="no usable NVIDIA GPU"):
        TensorRTRuntime(network=network).open()


def test_describe_runtimes_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    rows = {row["name"]: row for row in describe_runtimes()}
    assert list(rows) == list(AUTO_ORDER)
    assert rows["torch"]["available"] is True and rows["torch"]["precisions"] == ["f32"]
    assert rows["torch-cuda"]["available"] is False
    assert "no CUDA device" in rows["torch-cuda"]["reason"]
    assert "CUDA build of torch" in rows["torch-cuda"]["fix"]
    for row in rows.values():
        assert set(row) == {"name", "available", "precisions", "device", "reason", "fix"}
        assert (row["reason"] == "" and row["fix"] == "") == row["available"]
