"""``stylecast bench --gpu``: its refusal without CUDA, its numbers, its files and its
markdown; the real measurements only on a GPU (marked ``gpu``)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from stylecast.cli import main
from stylecast.cli.bench import _emit
from stylecast.tools.bench import gpu
from stylecast.tools.bench.report import gpu_markdown

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                   reason="needs a CUDA device")


def fake_result(**overrides: object) -> dict:
    result = {
        "date": "2026-11-24 15:00 UTC", "command": "stylecast bench --gpu",
        "gpu": {"device": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0",
                "memory_gib": 79.1, "driver": "580.159.04", "cuda": "13.0", "cudnn": 91000,
                "torch": "2.11.0+cu130", "date": "2026-11-24 15:00 UTC"},
        "machine": {"cpu": "Test CPU", "cores": 16, "memory_gib": 128.0, "gpu": "H100"},
        "weights": gpu.WEIGHTS_NOTE, "runs": 50, "warmup": 10, "sizes": ["720p"],
        "model": [
            gpu.GpuModelTiming("lite", "720p", "f16", "cuda graph", 0.81, 0.9, 1234.6, 2.5,
                               2.9, 400.0, 210.5, 50, streamed_fps=980.4).as_dict(),
            gpu.GpuModelTiming("full", "2160p", "f16", "eager", None, None, None, None, None,
                               None, None, 0, error="CUDA out of memory").as_dict(),
        ],
        "pipeline": [{"network": "lite", "size": "720p", "output": "1280x720",
                      "process_size": "1280x720", "runtime": "torch-cuda", "precision": "f16",
                      "mode": "live 30 fps", "fps": 30.0, "latency_p50_ms": 12.5,
                      "latency_p95_ms": 15.0, "drops": 0, "frames": 300,
                      "stage_ms": {"model": 3.1}}],
        "kernels": [{"frame": "1080p", "kernel": "preprocess", "size": [1080, 1920],
                     "fmt": "nv12", "dtype": "float16", "triton_gbps": 1500.25,
                     "reference_gbps": 400.0, "triton_ms": 0.004, "reference_ms": 0.015}],
    }
    result.update(overrides)
    return result


# -- without CUDA ------------------------------------------------------------------------


def test_without_cuda_exits_1_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["bench", "--gpu", "--json", str(tmp_path / "unused.json")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("stylecast: error: bench --gpu needs a CUDA device")
    assert f"torch {torch.__version__} sees none" in lines[0]
    assert not (tmp_path / "unused.json").exists()


def test_without_cuda_the_command_prints_one_line(tmp_path: Path) -> None:
    """The real command in a fresh process: logging and imports add nothing to stderr."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # hides any GPU of this machine
    done = subprocess.run(
        [sys.executable, "-m", "stylecast", "bench", "--gpu", "--json",
         str(tmp_path / "gpu.json"), "--markdown", str(tmp_path / "gpu.md")],
        capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "needs a CUDA device" in done.stderr
    assert not (tmp_path / "gpu.json").exists() and not (tmp_path / "gpu.md").exists()


# -- the CLI's plumbing, with the measurements stood in for ------------------------------


def test_gpu_results_go_to_the_named_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked: dict = {}

    def fake_run(**kwargs: object) -> dict:
        asked.update(kwargs)
        return fake_result()

    monkeypatch.setattr(gpu, "require_cuda", lambda: "Fake GPU")
    monkeypatch.setattr(gpu, "run_gpu_bench", fake_run)
    json_file, md_file = tmp_path / "gpu.json", tmp_path / "gpu.md"
    assert main(["bench", "--gpu", "--json", str(json_file), "--markdown", str(md_file),
                 "--gpu-sizes", "720p,1080p", "--gpu-networks", "lite", "--gpu-runs", "7",
                 "--gpu-pipeline-modes", "live", "--seconds", "3"]) == 0
    assert asked["sizes"] == ["720p", "1080p"] and asked["networks"] == ["lite"]
    assert asked["runs"] == 7 and asked["pipeline_modes"] == [True] and asked["seconds"] == 3
    data = json.loads(json_file.read_text(encoding="utf-8"))
    assert data["gpu"]["device"] == "NVIDIA H100 80GB HBM3"
    assert data["model"][0]["compute_ms_median"] == 0.81
    markdown = md_file.read_text(encoding="utf-8")
    assert markdown == gpu_markdown(data)
    assert capsys.readouterr().out.strip() == markdown.strip()  # markdown printed as well


@pytest.mark.parametrize("argv", [["--gpu-pipeline-modes", "live,fast"], ["--gpu-runs", "0"]])
def test_bad_gpu_arguments_are_config_errors(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(gpu, "require_cuda", lambda: "Fake GPU")
    monkeypatch.setattr(gpu, "run_gpu_bench", lambda **_: pytest.fail("should not run"))
    assert main(["bench", "--gpu", *argv]) == 1
    assert "stylecast: error: --gpu-" in capsys.readouterr().err


def test_unknown_network_or_size_is_refused_before_measuring(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from stylecast.errors import ConfigError

    monkeypatch.setattr(gpu, "require_cuda", lambda: "Fake GPU")
    monkeypatch.setattr(gpu, "gpu_environment", lambda: pytest.fail("should not measure"))
    with pytest.raises(ConfigError, match="'4k' is not one of 720p, 1080p, 2160p"):
        gpu.run_gpu_bench(sizes=["4k"])
    with pytest.raises(ConfigError, match="'huge' is not one of lite, full"):
        gpu.run_gpu_bench(networks=["huge"])


def test_emit_prints_json_alone_or_writes_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = argparse.Namespace(json="-", markdown=None, write=None)
    _emit(args, {"a": 1}, "# text")
    assert json.loads(capsys.readouterr().out) == {"a": 1}
    args = argparse.Namespace(json=str(tmp_path / "r.json"), markdown=tmp_path / "r.md",
                              write=None)
    _emit(args, {"a": 2}, "# text")
    assert capsys.readouterr().out == "# text\n"
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8")) == {"a": 2}
    assert (tmp_path / "r.md").read_text(encoding="utf-8") == "# text"


# -- pure pieces -------------------------------------------------------------------------


def test_summarize_gives_median_p95_and_fps() -> None:
    median, p95, fps = gpu.summarize([4.0, 2.0, 3.0, 5.0, 1.0])
    assert (median, fps) == (3.0, 333.3)
    assert 4.0 < p95 <= 5.0
    with pytest.raises(ValueError, match="no timings"):
        gpu.summarize([])
    with pytest.raises(ValueError, match="positive"):
        gpu.summarize([0.0, 0.0])


def test_markdown_names_the_gpu_and_every_row() -> None:
    text = gpu_markdown(fake_result())
    assert "### GPU, 2026-11-24 15:00 UTC — NVIDIA H100 80GB HBM3" in text
    assert "Driver 580.159.04, CUDA 13.0, cuDNN 91000, torch 2.11.0+cu130" in text
    assert "untrained weights" in text
    assert ("| lite | 720p | cuda graph | 0.81 / 0.90 | 1234.6 | 2.50 / 2.90 | 400.0 | 980.4 | "
            "210.5 |") in text
    assert "| full | 2160p | eager | failed: CUDA out of memory |" in text
    assert "| lite | 720p | live 30 fps | 30.0 | 12.5 / 15.0 | 0 | model 3.1 |" in text
    assert ("| preprocess | 1080p | nv12 | 1080x1920 | float16 | 1500.2 | 400.0 | 0.004 | "
            "0.015 |") in text


class _Recorder:
    """A runtime that logs submissions and results, to check the streaming order."""

    max_in_flight = 2

    def __init__(self) -> None:
        self.log: list[str] = []

    def submit(self, *_: object) -> object:
        index = sum(e.startswith("submit") for e in self.log)
        self.log.append(f"submit {index}")
        recorder = self

        class _Pending:
            def result(self) -> None:
                recorder.log.append(f"result {index}")

        return _Pending()


def test_streamed_fps_keeps_two_frames_in_flight() -> None:
    runtime = _Recorder()
    assert gpu.streamed_fps(runtime, np.zeros((4, 4, 3), np.uint8), np.ones(1, np.float32),
                            4) > 0
    assert runtime.log == ["submit 0", "submit 1", "result 0", "submit 2", "result 1",
                           "submit 3", "result 2", "result 3"]


def test_markdown_leaves_out_empty_sections() -> None:
    text = gpu_markdown(fake_result(model=[], pipeline=[], kernels=[]))
    assert "Model only" not in text and "End to end" not in text and "Kernels" not in text


def _fake_kernel_bench(monkeypatch: pytest.MonkeyPatch, measure: object) -> None:
    bench = types.ModuleType("stylecast.kernels.bench")
    bench.measure = measure  # type: ignore[attr-defined]  # a fake measure patched in
    monkeypatch.setitem(sys.modules, "stylecast.kernels.bench", bench)


def test_kernel_rows_measure_each_kernel_at_each_frame_size(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list = []

    @dataclasses.dataclass
    class Result:
        kernel: str
        size: tuple[int, int]
        fmt: str | None
        triton_gbps: float

    def measure(kernel: str, size: tuple[int, int], fmt: str | None, iters: int,
                **kwargs: object) -> Result:
        asked.append((kernel, size, fmt, kwargs.get("channels")))
        return Result(kernel, size, fmt, 1000.0)

    _fake_kernel_bench(monkeypatch, measure)
    rows = gpu.kernel_rows(iters=3)
    assert len(rows) == 2 * len(gpu.KERNEL_CASES)
    assert ("preprocess", (1080, 1920), "nv12", 64) in asked
    assert ("postprocess", (2160, 3840), "rgb24", 64) in asked
    assert ("warp_blend", (540, 960), None, 64) in asked  # the 4K frame's feature map
    assert rows[0] == {"frame": "1080p", "kernel": "preprocess", "size": (1080, 1920),
                       "fmt": "nv12", "triton_gbps": 1000.0}
    text = gpu_markdown(fake_result(kernels=rows))
    assert "| warp_blend | 2160p | - | 540x960 | - | 1000.0 |" in text


def test_kernel_rows_stop_at_the_first_unavailable_kernel(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from stylecast.errors import BackendUnavailable

    def measure(*_: object, **__: object) -> None:
        raise BackendUnavailable("the Triton kernels need the triton package")

    _fake_kernel_bench(monkeypatch, measure)
    assert gpu.kernel_rows() == []
    assert caplog.text.count("kernel bandwidth not measured") == 1


def test_kernel_rows_are_empty_without_the_kernels_bench(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "stylecast.kernels.bench", None)  # import fails
    assert gpu.kernel_rows() == []


# -- on a GPU ----------------------------------------------------------------------------


@pytest.mark.gpu
@requires_cuda
def test_gpu_bench_measures_lite_at_720p(tmp_path: Path) -> None:
    json_file, md_file = tmp_path / "gpu.json", tmp_path / "gpu.md"
    assert main(["bench", "--gpu", "--gpu-networks", "lite", "--gpu-sizes", "720p",
                 "--gpu-runs", "5", "--gpu-warmup", "2", "--seconds", "2",
                 "--gpu-pipeline-modes", "live", "--json", str(json_file),
                 "--markdown", str(md_file)]) == 0
    data = json.loads(json_file.read_text(encoding="utf-8"))
    assert data["gpu"]["device"] == torch.cuda.get_device_name(0)
    modes = {row["mode"]: row for row in data["model"]}
    assert set(modes) == {"cuda graph", "eager"}
    for row in modes.values():
        assert row["error"] is None and row["runs"] == 5
        assert row["compute_ms_median"] > 0 and row["frame_ms_median"] > 0
        assert row["peak_mib"] > 0
    assert data["pipeline"][0]["frames"] > 0
    assert data["gpu"]["device"] in md_file.read_text(encoding="utf-8")
