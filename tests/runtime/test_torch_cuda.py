"""The torch CUDA runtime: its bookkeeping, its f16 graph, its orchestration and, on a GPU,
the real thing.

Without a GPU the orchestration runs on CPU tensors with torch.cuda stood in for
(``fake_cuda``): that proves the static buffers, the replay, the recapture decisions and the
fallbacks; only the ``gpu`` tests prove the streams, events and graphs on a device.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import fake_cuda
import numpy as np
import pytest
import torch
from runtime_helpers import (
    PRESERVE,
    STRENGTH,
    STYLE,
    assert_close_to_reference,
    make_frame,
    torch_reference,
)

from stylecast.errors import BackendUnavailable, ConfigError
from stylecast.model.network import ConditionalInstanceNorm, StyleNetwork
from stylecast.runtime import open_runtime
from stylecast.runtime.base import resolve_precision
from stylecast.runtime.pytorch import TorchRuntime
from stylecast.runtime.torch_cuda.device_graph import (
    DeviceFrameGraph,
    F32StatsInstanceNorm,
    device_network,
    pack_controls,
)
from stylecast.runtime.torch_cuda.plan import HostBufferPool, ShapePlanner
from stylecast.runtime.torch_cuda.runtime import TorchCudaRuntime
from stylecast.temporal.state import TemporalInputs

OTHER_STYLE = np.array([0.0, 0.1, 0.9], dtype=np.float32)

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                   reason="needs a CUDA device")


reference = torch_reference


def assert_f16_close(out: np.ndarray, ref: np.ndarray) -> None:
    """f16 against f32 in uint8 levels: nearly all within 2, on average well under 1."""
    assert out.shape == ref.shape and out.dtype == np.uint8
    diff = np.abs(out.astype(np.int16) - ref.astype(np.int16))
    assert diff.mean() < 0.5, f"mean difference {diff.mean():.3f} levels"
    assert (diff <= 2).mean() >= 0.995, f"{(diff > 2).mean():.3%} of values differ by > 2"
    assert diff.max() <= 8


# -- ShapePlanner ------------------------------------------------------------------------


def test_planner_prepares_each_new_shape_once() -> None:
    planner = ShapePlanner(max_shapes=2)
    first = planner.admit((720, 1280))
    assert first.prepare and first.evict == ()
    assert not planner.admit((720, 1280)).prepare
    assert planner.admit((360, 640)).prepare
    assert planner.prepared == 2 and planner.held == ((720, 1280), (360, 640))


def test_planner_evicts_least_recently_used() -> None:
    planner = ShapePlanner(max_shapes=2)
    planner.admit((8, 8))
    planner.admit((16, 16))
    planner.admit((8, 8))  # 16x16 is now the least recently used
    admission = planner.admit((32, 32))
    assert admission.prepare and admission.evict == ((16, 16),)
    assert planner.held == ((8, 8), (32, 32))
    assert planner.admit((16, 16)).evict == ((8, 8),)
    assert planner.prepared == 4


def test_planner_discard_and_clear_force_preparing_again() -> None:
    planner = ShapePlanner(max_shapes=3)
    planner.admit((8, 8))
    planner.discard((8, 8))
    assert planner.admit((8, 8)).prepare
    planner.clear()
    assert planner.held == () and planner.admit((8, 8)).prepare


def test_planner_needs_room_for_one_shape() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ShapePlanner(max_shapes=0)


# -- HostBufferPool ----------------------------------------------------------------------


def test_pool_reuses_a_buffer_per_group_name_shape_and_dtype() -> None:
    pool = HostBufferPool(pin_memory=False)
    a = pool.get((8, 8), "frame", (8, 8, 3), torch.uint8)
    assert pool.get((8, 8), "frame", (8, 8, 3), torch.uint8) is a
    assert pool.allocations == 1
    assert pool.get((8, 8), "out", (8, 8, 3), torch.uint8) is not a
    assert pool.get((8, 8), "frame", (8, 8, 3), torch.float32) is not a
    assert pool.get((16, 8), "frame", (16, 8, 3), torch.uint8).shape == (16, 8, 3)
    assert pool.allocations == 4 and len(pool) == 4
    assert not a.is_pinned()


def test_pool_release_drops_one_group_only() -> None:
    pool = HostBufferPool(pin_memory=False)
    kept = pool.get((16, 16), "frame", (16, 16, 3), torch.uint8)
    pool.get((8, 8), "frame", (8, 8, 3), torch.uint8)
    pool.get((8, 8), "controls", (5,), torch.float32)
    pool.release((8, 8))
    assert len(pool) == 1
    assert pool.get((16, 16), "frame", (16, 16, 3), torch.uint8) is kept
    pool.get((8, 8), "frame", (8, 8, 3), torch.uint8)
    assert pool.allocations == 4
    pool.clear()
    assert len(pool) == 0


def test_pool_is_bounded() -> None:
    pool = HostBufferPool(pin_memory=False, max_buffers=2)
    first = pool.get(1, "a", (4,), torch.uint8)
    pool.get(2, "a", (4,), torch.uint8)
    pool.get(1, "a", (4,), torch.uint8)  # touch: 2 is now the oldest
    pool.get(3, "a", (4,), torch.uint8)
    assert len(pool) == 2
    assert pool.get(1, "a", (4,), torch.uint8) is first
    with pytest.raises(ValueError, match="at least 1"):
        HostBufferPool(pin_memory=False, max_buffers=0)


# -- precision and availability ----------------------------------------------------------


def test_no_cuda_is_a_clear_backend_unavailable(
    network: StyleNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    runtime = TorchCudaRuntime(network=network)
    with pytest.raises(BackendUnavailable) as excinfo:
        runtime.open()
    message = str(excinfo.value)
    assert f"torch {torch.__version__} sees no CUDA device" in message
    assert "install the CUDA build of torch" in message and "--runtime openvino" in message
    runtime.close()
    runtime.close()  # idempotent


def test_infer_before_open_says_so(network: StyleNetwork) -> None:
    runtime = TorchCudaRuntime(network=network)
    with pytest.raises(BackendUnavailable, match="not open"):
        runtime.infer(make_frame(8, 8), STYLE, 1.0, 0.0)


@pytest.mark.parametrize(("requested", "expected"), [("auto", "f16"), ("f16", "f16"),
                                                      ("f32", "f32")])
def test_precision_auto_is_f16_and_explicit_is_kept(
    requested: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_cuda.install(monkeypatch)
    caps = TorchCudaRuntime.capabilities()
    assert caps.device == f"cuda: {fake_cuda.DEVICE_NAME}" and caps.precisions == ("f16", "f32")
    assert resolve_precision("torch-cuda", requested, caps) == expected


def test_bf16_is_refused_not_downgraded(
    network: StyleNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_cuda.install(monkeypatch)
    runtime = fake_cuda.CpuTorchCudaRuntime(network=network, precision="bf16")
    with pytest.raises(BackendUnavailable, match=r"torch-cuda cannot run bf16 on cuda: Fake "
                       r"GPU \(it offers f16, f32\)"):
        runtime.open()


def test_a_device_that_fails_the_probe_is_unavailable(
    network: StyleNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_cuda.install(monkeypatch)

    def broken(self: DeviceFrameGraph, frame: torch.Tensor, controls: torch.Tensor) -> None:
        raise RuntimeError("CUDA error: no kernel image is available for execution\nmore")

    monkeypatch.setattr(fake_cuda.RecordingFrameGraph, "forward", broken)
    with pytest.raises(BackendUnavailable, match="torch-cuda could not run on cuda: Fake GPU: "
                       "CUDA error: no kernel image is available for execution; check"):
        fake_cuda.CpuTorchCudaRuntime(network=network).open()


# -- the device graph, on the CPU --------------------------------------------------------


def _device_graph_out(network: StyleNetwork, dtype: torch.dtype, frame: np.ndarray,
                      style: np.ndarray = STYLE) -> np.ndarray:
    graph = DeviceFrameGraph(device_network(network, dtype, "cpu"), dtype)
    controls = pack_controls(torch.from_numpy(style), STRENGTH, PRESERVE)
    with torch.no_grad():
        out = graph(torch.from_numpy(frame)[None], controls)
    assert out.dtype == torch.uint8 and out.is_contiguous()
    return out[0].numpy()


def test_device_graph_f32_matches_frame_graph(network: StyleNetwork) -> None:
    frame = make_frame(36, 52)
    assert_close_to_reference(_device_graph_out(network, torch.float32, frame),
                              torch_reference(network, frame))


def test_device_graph_f16_is_close_to_f32(network: StyleNetwork) -> None:
    frame = make_frame(36, 52, seed=3)
    assert_f16_close(_device_graph_out(network, torch.float16, frame),
                     torch_reference(network, frame))


def test_device_network_converts_a_copy(network: StyleNetwork) -> None:
    converted = device_network(network, torch.float16, "cpu")
    assert {p.dtype for p in converted.parameters()} == {torch.float16}
    assert {p.dtype for p in network.parameters()} == {torch.float32}
    assert not any(isinstance(m, ConditionalInstanceNorm) for m in converted.modules())


def test_f16_norm_statistics_do_not_overflow() -> None:
    """Activations with a standard deviation of 400: the f16 variance would be inf."""
    norm = ConditionalInstanceNorm(8, 2)
    with torch.no_grad():
        norm.scale.normal_(1.0, 0.3)
        norm.shift.normal_(0.0, 0.3)
    x = torch.randn(1, 8, 24, 40, generator=torch.Generator().manual_seed(0)) * 400 + 30
    style = torch.tensor([[0.3, 0.7]])
    expected = norm(x, style)
    half = F32StatsInstanceNorm(norm).half()
    got = half(x.half(), style.half()).float()
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, expected, atol=0.02, rtol=0.01)
    # What the unguarded f16 norm does with the same input: not finite or far off.
    naive = norm.half()(x.half(), style.half()).float()
    assert not torch.allclose(naive, expected, atol=0.1)


# -- the orchestration, with torch.cuda stood in for -------------------------------------


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> fake_cuda.Calls:
    return fake_cuda.install(monkeypatch)


def _open(network: StyleNetwork, **kwargs: object) -> TorchCudaRuntime:
    runtime = fake_cuda.CpuTorchCudaRuntime(network=network, precision="f32", **kwargs)
    runtime.open()
    return runtime


def test_graph_replay_follows_frames_styles_and_shapes(
    network: StyleNetwork, fake: fake_cuda.Calls
) -> None:
    runtime = _open(network)
    try:
        assert runtime.mode == "cuda graph" and runtime.info.precision == "f32"
        for seed in (0, 1):  # two frames of one size: the second is a replay
            frame = make_frame(36, 52, seed=seed)
            assert_close_to_reference(runtime.infer(frame, STYLE, STRENGTH, PRESERVE),
                                      reference(network, frame))
        assert runtime.captures == 1 and fake.replays == 2
        styled = runtime.infer(frame, OTHER_STYLE, 0.5, 0.0)  # a style change: no recapture
        assert runtime.captures == 1
        assert_close_to_reference(styled, reference(network, frame, OTHER_STYLE, 0.5, 0.0))
        other = make_frame(40, 64, seed=2)  # a shape change: one capture
        assert_close_to_reference(runtime.infer(other, STYLE, STRENGTH, PRESERVE),
                                  reference(network, other))
        assert runtime.captures == 2
        runtime.infer(frame, STYLE, STRENGTH, PRESERVE)  # back again: still held
        assert runtime.captures == 2 and fake.replays == 5
    finally:
        runtime.close()


def test_the_hot_path_waits_for_one_event_and_never_the_device(
    network: StyleNetwork, fake: fake_cuda.Calls
) -> None:
    runtime = _open(network)
    frame = make_frame(36, 52)
    runtime.infer(frame, STYLE, STRENGTH, PRESERVE)  # prepares: allowed to synchronize
    device_syncs, stream_syncs, event_syncs = (fake.device_syncs, fake.stream_syncs,
                                               fake.event_syncs)
    for _ in range(3):
        runtime.infer(frame, STYLE, STRENGTH, PRESERVE)
    assert fake.device_syncs == device_syncs and fake.stream_syncs == stream_syncs
    # Per frame: the download being returned, and the (long finished) previous upload.
    assert fake.event_syncs - event_syncs == 3 * 2
    runtime.close()


def test_results_are_copies_not_the_reused_buffer(
    network: StyleNetwork, fake: fake_cuda.Calls
) -> None:
    runtime = _open(network)
    first = runtime.infer(make_frame(36, 52, seed=0), STYLE, STRENGTH, PRESERVE)
    kept = first.copy()
    runtime.infer(make_frame(36, 52, seed=5), OTHER_STYLE, 1.0, 0.0)
    np.testing.assert_array_equal(first, kept)
    runtime.close()


@pytest.mark.parametrize("cuda_graph", [True, False])
def test_two_frames_in_flight_keep_their_own_buffers(
    network: StyleNetwork, fake: fake_cuda.Calls, cuda_graph: bool
) -> None:
    # The fake runs each submit to the end at once, so a buffer shared by the two slots
    # would hand the first frame the second one's picture.
    runtime = _open(network, cuda_graph=cuda_graph)
    first, second = make_frame(36, 52, seed=0), make_frame(36, 52, seed=1)
    runtime.infer(first, STYLE, STRENGTH, PRESERVE)  # prepares the size
    a = runtime.submit(first, STYLE, STRENGTH, PRESERVE)
    b = runtime.submit(second, OTHER_STYLE, 1.0, 0.0)
    with pytest.raises(RuntimeError, match="at most 2 frames of one size in flight"):
        runtime.submit(first, STYLE, STRENGTH, PRESERVE)
    result_a = a.result()
    assert_close_to_reference(result_a, reference(network, first))
    assert_close_to_reference(b.result(), reference(network, second, OTHER_STYLE, 1.0, 0.0))
    assert a.result() is result_a  # taken once, then kept
    # The first slot is free again: a third frame goes in.
    assert_close_to_reference(runtime.submit(first, STYLE, STRENGTH, PRESERVE).result(),
                              reference(network, first))
    runtime.close()


def test_each_stream_waits_for_the_slot_events_that_free_what_it_overwrites(
    network: StyleNetwork, fake: fake_cuda.Calls
) -> None:
    runtime = _open(network)
    frame = make_frame(36, 52)
    runtime.infer(frame, STYLE, STRENGTH, PRESERVE)
    upload, compute, download = runtime._upload, runtime._compute, runtime._download
    for stream in (upload, compute, download):
        stream.waited.clear()
    step = runtime._steps[(36, 52)]
    pending = [runtime.submit(frame, STYLE, STRENGTH, PRESERVE) for _ in range(2)]
    slots = [step.slots[1], step.slots[0]]  # the prepare frame used slot 0
    # Upload: after the slot's last compute read its staging inputs. Compute: after the
    # upload and the slot's last download. Download: after the compute.
    assert upload.waited == [s.computed for s in slots]
    assert compute.waited == [e for s in slots for e in (s.uploaded, s.downloaded)]
    assert download.waited == [s.computed for s in slots]
    for p in pending:
        p.result()
    runtime.close()


def test_runtimes_without_streams_submit_synchronously(network: StyleNetwork) -> None:
    runtime = TorchRuntime(network=network)
    runtime.open()
    frame = make_frame(36, 52)
    pending = runtime.submit(frame, STYLE, STRENGTH, PRESERVE)
    assert runtime.max_in_flight == 1
    np.testing.assert_array_equal(pending.result(),
                                  runtime.infer(frame, STYLE, STRENGTH, PRESERVE))
    runtime.close()


def test_least_recently_used_size_is_recaptured(
    network: StyleNetwork, fake: fake_cuda.Calls
) -> None:
    runtime = _open(network)
    sizes = [(16, 16), (16, 20), (20, 16), (24, 24)]  # one more than MAX_SHAPES
    for height, width in sizes:
        runtime.infer(make_frame(height, width), STYLE, 1.0, 0.0)
    assert runtime.captures == 4
    frame = make_frame(16, 16)
    assert_close_to_reference(runtime.infer(frame, STYLE, 1.0, 0.0),
                              reference(network, frame, STYLE, 1.0, 0.0))
    assert runtime.captures == 5
    runtime.close()


def test_without_cuda_graph_nothing_is_captured(
    network: StyleNetwork, fake: fake_cuda.Calls
) -> None:
    runtime = _open(network, cuda_graph=False)
    frame = make_frame(36, 52)
    assert_close_to_reference(runtime.infer(frame, STYLE, STRENGTH, PRESERVE),
                              reference(network, frame))
    assert runtime.infer(frame, OTHER_STYLE, 1.0, 0.0).shape == frame.shape
    assert runtime.captures == 0 and fake.captures == 0 and runtime.mode == "eager"
    runtime.close()


def test_f16_through_the_orchestration(network: StyleNetwork, fake: fake_cuda.Calls) -> None:
    runtime = fake_cuda.CpuTorchCudaRuntime(network=network)
    runtime.open()
    frame = make_frame(36, 52, seed=4)
    assert runtime.info.precision == "f16"
    assert_f16_close(runtime.infer(frame, STYLE, STRENGTH, PRESERVE), reference(network, frame))
    runtime.close()


def test_failed_capture_falls_back_to_eager_with_the_reason(
    network: StyleNetwork, fake: fake_cuda.Calls, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise RuntimeError("operation not permitted when stream is capturing")

    monkeypatch.setattr(torch.cuda, "graph", refuse)
    runtime = _open(network)
    frame = make_frame(36, 52)
    with caplog.at_level(logging.WARNING, logger="stylecast.runtime.torch_cuda.runtime"):
        out = runtime.infer(frame, STYLE, STRENGTH, PRESERVE)
    assert_close_to_reference(out, reference(network, frame))
    assert runtime.mode == "eager" and runtime.captures == 0
    assert "operation not permitted" in (runtime.graph_error or "")
    assert "CUDA graph capture failed" in caplog.text
    runtime.close()


def test_failed_compile_falls_back_with_the_reason(
    network: StyleNetwork, fake: fake_cuda.Calls, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def compile_that_fails_later(module: torch.nn.Module,
                                 **_: object) -> Callable[..., torch.Tensor]:
        def compiled(*args: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("BackendCompilerFailed: inductor raised\ntraceback ...")
        return compiled

    monkeypatch.setattr(torch, "compile", compile_that_fails_later)
    runtime = _open(network, compile=True)
    assert runtime.mode == "cuda graph + torch.compile"
    frame = make_frame(36, 52)
    with caplog.at_level(logging.WARNING, logger="stylecast.runtime.torch_cuda.runtime"):
        out = runtime.infer(frame, STYLE, STRENGTH, PRESERVE)
    assert_close_to_reference(out, reference(network, frame))
    assert runtime.compile_error == "BackendCompilerFailed: inductor raised"
    assert runtime.mode == "cuda graph" and runtime.captures == 1
    assert caplog.text.count("torch.compile failed") == 1
    runtime.close()


def test_out_of_memory_is_not_mistaken_for_a_compile_failure(
    network: StyleNetwork, fake: fake_cuda.Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    def compile_out_of_memory(module: torch.nn.Module,
                              **_: object) -> Callable[..., torch.Tensor]:
        def compiled(*args: torch.Tensor) -> torch.Tensor:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return compiled

    monkeypatch.setattr(torch, "compile", compile_out_of_memory)
    runtime = _open(network, compile=True)
    with pytest.raises(torch.OutOfMemoryError):
        runtime.infer(make_frame(36, 52), STYLE, STRENGTH, PRESERVE)
    assert runtime.compile_error is None
    runtime.close()


def test_bad_frames_are_refused_at_the_boundary(
    network: StyleNetwork, fake: fake_cuda.Calls
) -> None:
    runtime = _open(network)
    with pytest.raises(ValueError, match="uint8"):
        runtime.infer(make_frame(36, 52).astype(np.float32), STYLE, 1.0, 0.0)
    with pytest.raises(ValueError, match="multiples of 4"):
        runtime.infer(make_frame(35, 52), STYLE, 1.0, 0.0)
    with pytest.raises(ValueError, match="style must be"):
        runtime.infer(make_frame(36, 52), STYLE[:2], 1.0, 0.0)
    runtime.close()
    runtime.close()
    with pytest.raises(BackendUnavailable, match="not open"):
        runtime.infer(make_frame(36, 52), STYLE, 1.0, 0.0)


def test_time_steps_needs_a_prepared_size(network: StyleNetwork, fake: fake_cuda.Calls) -> None:
    runtime = _open(network)
    with pytest.raises(BackendUnavailable, match="has not run a 52x36 frame"):
        runtime.time_steps(36, 52, runs=3)
    runtime.infer(make_frame(36, 52), STYLE, 1.0, 0.0)
    replays = fake.replays
    times = runtime.time_steps(36, 52, runs=3)
    assert len(times) == 3 and all(t >= 0 for t in times) and fake.replays == replays + 3
    runtime.close()


def test_temporal_matches_the_torch_runtime(network: StyleNetwork, fake: fake_cuda.Calls) -> None:
    frame = make_frame(32, 48)
    state = TemporalInputs.empty(network.spec.channels, network.stats_channels, 8, 12)
    ref_runtime = TorchRuntime(network=network)
    ref_runtime.open()
    expected, expected_state = ref_runtime.infer_temporal(frame, STYLE, STRENGTH, PRESERVE,
                                                          state)
    ref_runtime.close()
    runtime = _open(network)
    out, outputs = runtime.infer_temporal(frame, STYLE, STRENGTH, PRESERVE, state)
    assert_close_to_reference(out, expected)
    assert outputs.features.dtype == np.float32
    np.testing.assert_allclose(outputs.features, expected_state.features, atol=1e-4)
    np.testing.assert_allclose(outputs.stats, expected_state.stats, atol=1e-4)
    with pytest.raises(ValueError, match="temporal input prev_feats must be"):
        runtime.infer_temporal(make_frame(32, 52), STYLE, 1.0, 0.0, state)
    runtime.close()


def test_options_reach_the_runtime_through_the_registry(
    network: StyleNetwork, fake: fake_cuda.Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stylecast.runtime import RUNTIMES

    monkeypatch.setitem(RUNTIMES, "torch-cuda", fake_cuda.CpuTorchCudaRuntime)
    runtime = open_runtime("torch-cuda", network=network, precision="f32",
                           options={"cuda_graph": False, "compile": False})
    assert isinstance(runtime, TorchCudaRuntime) and runtime.cuda_graph is False
    runtime.close()
    # Another runtime's options are ignored by this one; an option nobody has is an error.
    open_runtime("torch", network=network, options={"cuda_graph": False}).close()
    with pytest.raises(ConfigError, match="no runtime has the option cuda_graps"):
        open_runtime("torch-cuda", network=network, options={"cuda_graps": False})


@pytest.mark.parametrize(("flags", "expected"), [
    ([], {}),
    (["--no-cuda-graph"], {"cuda_graph": False}),
    (["--compile", "--no-cuda-graph"], {"cuda_graph": False, "compile": True}),
])
def test_cli_flags_become_runtime_options(flags: list[str], expected: dict) -> None:
    from stylecast.cli import build_parser
    from stylecast.cli.args import engine_options

    args = build_parser().parse_args(["render", "in.mp4", "-o", "out.mp4", *flags])
    assert engine_options(args).runtime_options == expected


def test_engine_options_reach_the_runtime(
    styles_env: object, fake: fake_cuda.Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stylecast.engine.build import EngineOptions, build_stylizer
    from stylecast.runtime import RUNTIMES

    monkeypatch.setitem(RUNTIMES, "torch-cuda", fake_cuda.CpuTorchCudaRuntime)
    options = EngineOptions(runtime="torch-cuda", precision="f32",
                            runtime_options={"cuda_graph": False})
    stylizer, _ = build_stylizer(None, options)
    assert isinstance(stylizer.runtime, TorchCudaRuntime)
    assert stylizer.runtime.cuda_graph is False and stylizer.runtime.mode == "eager"
    stylizer.runtime.close()


# -- on a GPU ----------------------------------------------------------------------------


@pytest.mark.gpu
@requires_cuda
def test_gpu_graph_matches_eager_f32_through_style_and_shape_changes(
    network: StyleNetwork,
) -> None:
    runtime = TorchCudaRuntime(network=network)  # f16, CUDA graph: the defaults
    runtime.open()
    try:
        assert runtime.info.precision == "f16" and runtime.mode == "cuda graph"
        steps = [((36, 52), 0, STYLE, STRENGTH, PRESERVE),
                 ((36, 52), 1, STYLE, STRENGTH, PRESERVE),
                 ((36, 52), 1, OTHER_STYLE, 0.6, 0.0),   # style change
                 ((68, 100), 2, OTHER_STYLE, 0.6, 0.0),  # shape change
                 ((36, 52), 3, STYLE, 1.0, 1.0)]         # and back
        captures = []
        for (height, width), seed, style, strength, preserve in steps:
            frame = make_frame(height, width, seed=seed)
            out = runtime.infer(frame, style, strength, preserve)
            assert_f16_close(out, reference(network, frame, style, strength, preserve))
            captures.append(runtime.captures)
        assert captures == [1, 1, 1, 2, 2]
    finally:
        runtime.close()


@pytest.mark.gpu
@requires_cuda
def test_gpu_f32_and_eager_match_the_cpu_reference(network: StyleNetwork) -> None:
    frame = make_frame(36, 52, seed=7)
    expected = reference(network, frame)
    for cuda_graph in (True, False):
        runtime = TorchCudaRuntime(network=network, precision="f32", cuda_graph=cuda_graph)
        runtime.open()
        try:
            assert_close_to_reference(runtime.infer(frame, STYLE, STRENGTH, PRESERVE), expected)
            assert runtime.captures == (1 if cuda_graph else 0)
        finally:
            runtime.close()


@pytest.mark.gpu
@requires_cuda
def test_gpu_hot_path_never_synchronizes_the_device(
    network: StyleNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = TorchCudaRuntime(network=network)
    runtime.open()
    frame = make_frame(36, 52)
    runtime.warmup(52, 36)  # capture may synchronize; frames after it must not

    def forbidden(*_: object) -> None:
        raise AssertionError("torch.cuda.synchronize() in the hot path")

    monkeypatch.setattr(torch.cuda, "synchronize", forbidden)
    for _ in range(3):
        runtime.infer(frame, STYLE, STRENGTH, PRESERVE)
    assert runtime.captures == 1
    assert all(t > 0 for t in runtime.time_steps(36, 52, runs=3))
    runtime.close()


@pytest.mark.gpu
@requires_cuda
def test_gpu_temporal_is_close_to_the_cpu_reference(network: StyleNetwork) -> None:
    frame = make_frame(32, 48)
    state = TemporalInputs.empty(network.spec.channels, network.stats_channels, 8, 12)
    ref_runtime = TorchRuntime(network=network)
    ref_runtime.open()
    expected, _ = ref_runtime.infer_temporal(frame, STYLE, STRENGTH, PRESERVE, state)
    ref_runtime.close()
    runtime = TorchCudaRuntime(network=network, precision="f32")
    runtime.open()
    out, outputs = runtime.infer_temporal(frame, STYLE, STRENGTH, PRESERVE, state)
    runtime.close()
    assert_close_to_reference(out, expected)
    assert outputs.features.dtype == np.float32


@pytest.mark.gpu
@requires_cuda
def test_gpu_streamed_frames_match_one_at_a_time(network: StyleNetwork) -> None:
    # Two frames in flight for real: uploads, replays and downloads on three streams must
    # give each frame its own result, as one-at-a-time inference does.
    runtime = TorchCudaRuntime(network=network, precision="f32")
    runtime.open()
    frames = [make_frame(36, 52, seed=s) for s in range(6)]
    expected = [runtime.infer(f, STYLE, STRENGTH, PRESERVE) for f in frames]
    waiting = runtime.submit(frames[0], STYLE, STRENGTH, PRESERVE)
    got = []
    for frame in frames[1:]:
        nxt = runtime.submit(frame, STYLE, STRENGTH, PRESERVE)
        got.append(waiting.result())
        waiting = nxt
    got.append(waiting.result())
    runtime.close()
    for out, want in zip(got, expected, strict=True):
        np.testing.assert_array_equal(out, want)
