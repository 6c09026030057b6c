"""The TensorRT runtime's plain-Python half: cache key, engine header, profiles, bindings.

None of this needs TensorRT or a GPU. The last test (marked ``trt``) builds and runs a real
engine and is skipped where TensorRT or a CUDA device is missing.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import struct
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from runtime_helpers import SPREAD, STYLE, make_frame, torch_reference

from stylecast.errors import BackendUnavailable, ConfigError, EngineBuildError, EngineMismatch
from stylecast.model import export
from stylecast.model.graph import INPUT_NAMES, OUTPUT_NAMES
from stylecast.model.network import StyleNetwork
from stylecast.runtime.tensorrt import runtime as tensorrt_runtime
from stylecast.runtime.tensorrt.engine_cache import (
    ENGINE_FORMAT,
    MAGIC,
    EngineKey,
    encode_engine,
    engine_path,
    find_compatible,
    key_for,
    read_engine,
    read_header,
    timing_cache_path,
    write_atomically,
    write_engine,
)
from stylecast.runtime.tensorrt.plan import (
    STILL_SIZE,
    BuildProgress,
    EngineTensor,
    GraphIO,
    ShapeProfile,
    expected_tensors,
    plan_bindings,
    profile_from_bounds,
    profile_from_sizes,
    profile_shapes,
)
from stylecast.runtime.tensorrt.runtime import TensorRTRuntime
from stylecast.temporal import graph as temporal_graph
from tests.conftest import make_network

# Captured before the autouse fixture in conftest.py redirects it to a scratch folder.
REAL_DEFAULT_CACHE_DIR = export.default_cache_dir
PROFILE = ShapeProfile(min=(192, 108), opt=(1280, 720), max=(1920, 1080))
REBUILD = "stylecast build-engine classic --force"


def make_key(**changes: Any) -> EngineKey:
    fields: dict[str, Any] = {
        "gpu_name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0",
        "tensorrt_version": "10.3.0", "stylecast_version": "0.1.0",
        "engine_format": ENGINE_FORMAT, "network": "lite", "temporal": False,
        "graph_key": "lite-0123456789abcdef", "weights_sha256": "ab" * 32, "precision": "f16",
        "profile": PROFILE, "workspace_bytes": 2 * 2**30,
    }
    fields.update(changes)
    return EngineKey(**fields)


# One different value per key field; the test below insists every field is listed.
ALTERNATIVES: dict[str, Any] = {
    "gpu_name": "NVIDIA A100-SXM4-40GB", "compute_capability": "8.0",
    "tensorrt_version": "10.4.0", "stylecast_version": "0.2.0",
    "engine_format": ENGINE_FORMAT + 1, "network": "full", "temporal": True,
    "graph_key": "lite-fedcba9876543210", "weights_sha256": "cd" * 32, "precision": "f32",
    "profile": ShapeProfile(min=(192, 108), opt=(1920, 1080), max=(1920, 1080)),
    "workspace_bytes": 4 * 2**30,
}


# --- cache key ---------------------------------------------------------------------------


def test_key_is_stable_for_equal_fields() -> None:
    first, second = make_key(), make_key()
    assert first.digest() == second.digest()
    assert len(first.digest()) == 32 and int(first.digest(), 16) >= 0
    assert first.file_name() == f"lite-frame-f16-{first.digest()}.engine"


def test_alternatives_cover_every_key_field() -> None:
    assert set(ALTERNATIVES) == {f.name for f in dataclasses.fields(EngineKey)}


@pytest.mark.parametrize("field", sorted(ALTERNATIVES))
def test_key_changes_when_any_field_changes(field: str) -> None:
    base = make_key()
    changed = make_key(**{field: ALTERNATIVES[field]})
    assert changed.digest() != base.digest()
    assert changed.file_name() != base.file_name()


def test_key_for_follows_weights_and_graph(network: StyleNetwork, tmp_path: Path) -> None:
    machine = {"gpu_name": "G", "compute_capability": "8.6", "tensorrt_version": "10.3.0"}
    common = dict(precision="f16", profile=PROFILE, workspace_bytes=2**30, cache_dir=tmp_path)
    plain = key_for(network, **machine, temporal=False, **common)  # type: ignore[arg-type]  # kwargs from dicts: mypy cannot see their keys
    again = key_for(network, **machine, temporal=False, **common)  # type: ignore[arg-type]  # kwargs from dicts: mypy cannot see their keys
    temporal = key_for(network, **machine, temporal=True, **common)  # type: ignore[arg-type]  # kwargs from dicts: mypy cannot see their keys
    other = key_for(make_network(seed=1, spread=SPREAD), **machine, temporal=False,
                    **common)  # type: ignore[arg-type]  # kwargs from dicts: mypy cannot see their keys
    assert plain == again
    assert plain.weights_sha256 == export.weights_digest(network)
    assert plain.graph_key == export.onnx_path(network, tmp_path).stem
    assert temporal.graph_key != plain.graph_key and temporal.digest() != plain.digest()
    assert other.weights_sha256 != plain.weights_sha256
    assert other.graph_key != plain.graph_key and other.digest() != plain.digest()


def test_rebuild_command_reproduces_the_key() -> None:
    command = make_key(temporal=True, precision="f32").rebuild_command("classic")
    assert command == ("stylecast build-engine classic --network lite --sizes 1280x720,"
                       "1920x1080 --opt 1280x720 --precision f32 --workspace-gb 2 --temporal "
                       "--force")


# --- paths --------------------------------------------------------------------------------


def test_engines_live_under_the_user_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "default_cache_dir", REAL_DEFAULT_CACHE_DIR)
    monkeypatch.setattr("platformdirs.user_cache_dir",
                        lambda appname=None, *a, **k: str(tmp_path / "user-cache" / appname))
    key = make_key()
    path = engine_path(key)
    assert path == tmp_path / "user-cache" / "stylecast" / "engines" / key.file_name()
    assert timing_cache_path(key).parent == path.parent
    assert "~" not in str(path)


def test_timing_cache_is_per_gpu_and_tensorrt_version(tmp_path: Path) -> None:
    base = timing_cache_path(make_key(), tmp_path)
    assert timing_cache_path(make_key(precision="f32", temporal=True), tmp_path) == base
    assert timing_cache_path(make_key(gpu_name="other"), tmp_path) != base
    assert timing_cache_path(make_key(tensorrt_version="10.9.0"), tmp_path) != base


# --- header ------------------------------------------------------------------------------

PAYLOAD = bytes(range(256)) * 40


def test_header_round_trip(tmp_path: Path) -> None:
    key = make_key()
    path = write_engine(tmp_path / "e.engine", key, PAYLOAD)
    assert read_engine(path, key) == PAYLOAD
    header, offset = read_header(path)
    assert path.read_bytes()[offset:] == PAYLOAD
    assert header["format"] == ENGINE_FORMAT
    assert header["key"]["gpu_name"] == "NVIDIA H100 80GB HBM3"
    assert header["key"]["tensorrt_version"] == "10.3.0"
    assert header["key"]["precision"] == "f16"
    assert header["key"]["weights_sha256"] == "ab" * 32
    assert header["key"]["profile"] == {"min": [192, 108], "opt": [1280, 720],
                                        "max": [1920, 1080]}
    assert header["engine_bytes"] == len(PAYLOAD)
    created = datetime.datetime.fromisoformat(header["created"])
    assert abs((datetime.datetime.now(datetime.UTC) - created).total_seconds()) < 60
    assert [p.name for p in tmp_path.iterdir()] == ["e.engine"]  # no temporary file left


def test_header_rejects_bad_magic(tmp_path: Path) -> None:
    path = tmp_path / "e.engine"
    path.write_bytes(b"NOTOURS!" + encode_engine(make_key(), PAYLOAD)[len(MAGIC):])
    with pytest.raises(EngineBuildError, match="bad magic"):
        read_engine(path, make_key())


@pytest.mark.parametrize("keep, message", [
    (5, "bad magic bytes .*truncated"),
    (len(MAGIC) + 4 + 10, r"truncated inside the header \(10 of"),
    (-100, f"truncated: the header promises {len(PAYLOAD)} engine bytes, the file holds "
           f"{len(PAYLOAD) - 100}"),
])
def test_header_rejects_truncated_files(tmp_path: Path, keep: int, message: str) -> None:
    path = tmp_path / "e.engine"
    path.write_bytes(encode_engine(make_key(), PAYLOAD)[:keep])
    with pytest.raises(EngineBuildError, match=message) as info:
        read_engine(path, make_key())
    assert "stylecast build-engine" in str(info.value)


def test_header_rejects_out_of_bounds_length_and_bad_json(tmp_path: Path) -> None:
    path = tmp_path / "e.engine"
    path.write_bytes(MAGIC + struct.pack("<I", 10**7) + b"{}")
    with pytest.raises(EngineBuildError, match="header length 10000000 is out of bounds"):
        read_engine(path, make_key())
    path.write_bytes(MAGIC + struct.pack("<I", 5) + b"{nope" + PAYLOAD)
    with pytest.raises(EngineBuildError, match="not valid JSON"):
        read_engine(path, make_key())
    raw = json.dumps({"format": ENGINE_FORMAT + 7, "key": {}}).encode()
    path.write_bytes(MAGIC + struct.pack("<I", len(raw)) + raw)
    with pytest.raises(EngineBuildError, match=f"engine format {ENGINE_FORMAT + 7}"):
        read_engine(path, make_key())


def test_header_rejects_a_damaged_engine(tmp_path: Path) -> None:
    blob = bytearray(encode_engine(make_key(), PAYLOAD))
    blob[-7] ^= 0xFF
    path = tmp_path / "e.engine"
    path.write_bytes(bytes(blob))
    with pytest.raises(EngineBuildError, match="sha256 does not match"):
        read_engine(path, make_key())


@pytest.mark.parametrize("field, label", [
    ("gpu_name", "GPU"), ("tensorrt_version", "TensorRT version"),
    ("precision", "precision"), ("weights_sha256", "weights sha256"),
    ("profile", "shape profile"), ("compute_capability", "GPU compute capability"),
])
def test_header_names_the_field_that_differs(tmp_path: Path, field: str, label: str) -> None:
    built = make_key(**{field: ALTERNATIVES[field]})
    path = write_engine(tmp_path / "e.engine", built, PAYLOAD)
    here = make_key()
    with pytest.raises(EngineMismatch) as info:
        read_engine(path, here)
    message = str(info.value)
    assert info.value.fields == (field,)
    assert f"{label} ({field}) is " in message
    if field == "profile":
        assert ("'192x108 .. 1920x1080, tuned for 1920x1080' in the engine but "
                "'192x108 .. 1920x1080, tuned for 1280x720' here") in message
    else:
        assert (f"{built.as_dict()[field]!r} in the engine but {here.as_dict()[field]!r} "
                "here") in message
    assert here.rebuild_command() in message


def test_header_lists_every_difference(tmp_path: Path) -> None:
    built = make_key(gpu_name="NVIDIA L4", tensorrt_version="10.0.1", precision="f32")
    path = write_engine(tmp_path / "e.engine", built, PAYLOAD)
    with pytest.raises(EngineMismatch) as info:
        read_engine(path, make_key())
    assert info.value.fields == ("gpu_name", "tensorrt_version", "precision")
    assert "'NVIDIA L4' in the engine but 'NVIDIA H100 80GB HBM3' here" in str(info.value)


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = make_key()
    path = write_engine(tmp_path / "e.engine", key, PAYLOAD)

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(EngineBuildError, match="No space left on device"):
        write_engine(path, key, b"new engine")
    assert read_engine(path, key) == PAYLOAD
    assert [p.name for p in tmp_path.iterdir()] == ["e.engine"]


def test_find_compatible_ignores_profile_only_newest_first(tmp_path: Path) -> None:
    folder = tmp_path / "engines"
    key = make_key()
    old = make_key(profile=ShapeProfile((192, 108), (640, 360), (1280, 720)))
    new = make_key(profile=ShapeProfile((192, 108), (1920, 1080), (3840, 2160)),
                   workspace_bytes=2**32)
    for name, k, day in (("old", old, 1), ("new", new, 2), ("gpu", make_key(gpu_name="x"), 3)):
        when = datetime.datetime(2026, 1, day, tzinfo=datetime.UTC)
        write_atomically(folder / f"{name}.engine", [encode_engine(k, PAYLOAD, when)])
    (folder / "junk.engine").write_bytes(b"garbage")
    assert [p.name for p in find_compatible(key, tmp_path)] == ["new.engine", "old.engine"]
    assert find_compatible(make_key(precision="f32"), tmp_path) == []


# --- profiles -----------------------------------------------------------------------------


def test_profile_for_typical_sizes() -> None:
    profile = profile_from_sizes([(1280, 720), (1920, 1080), (3840, 2160)], 4)
    assert profile == ShapeProfile(min=STILL_SIZE, opt=(1280, 720), max=(3840, 2160))
    assert profile.covers(192, 108) and profile.covers(3840, 2160)
    assert not profile.covers(3844, 2160) and not profile.covers(188, 108)


def test_profile_tunes_for_the_most_common_size() -> None:
    profile = profile_from_sizes([(640, 360), (1920, 1080), (1920, 1080)], 4)
    assert profile.opt == (1920, 1080) and profile.min == (192, 108)
    explicit = profile_from_sizes([(640, 360), (1920, 1080)], 4, opt=(1280, 720))
    assert explicit.opt == (1280, 720) and explicit.max == (1920, 1080)


def test_profile_rounds_down_to_the_multiple() -> None:
    profile = profile_from_sizes([(1278, 718)], 4)
    assert profile.opt == (1276, 716) == profile.max
    assert profile_from_sizes([(1278, 718)], 8).opt == (1272, 712)
    assert profile_from_sizes([(100, 60)], 4).min == (100, 60)  # below the thumbnail size


@pytest.mark.parametrize("sizes, opt, message", [
    ([], None, "at least one frame size"),
    ([(9000, 1080)], None, "larger than the exported graph admits"),
    ([(1280, 0)], None, "must be positive"),
    ([(6, 6)], None, "too small"),
    ([(640, 360), (1280, 720)], (1920, 1080), "opt size 1920x1080 is outside"),
])
def test_profile_refuses_invalid_sizes(
    sizes: list[tuple[int, int]], opt: tuple[int, int] | None, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        profile_from_sizes(sizes, 4, opt=opt)


def test_profile_from_bounds_checks_order() -> None:
    profile = profile_from_bounds((642, 362), (1280, 720), (1920, 1080), 4)
    assert profile == ShapeProfile(min=(640, 360), opt=(1280, 720), max=(1920, 1080))
    with pytest.raises(ConfigError, match="heights must satisfy min <= opt <= max; got 720, "
                                          "360, 1080"):
        profile_from_bounds((640, 720), (1280, 360), (1920, 1080), 4)


def test_still_size_matches_the_control_page_thumbnails() -> None:
    from stylecast.control.controller import THUMB_SIZE

    assert STILL_SIZE == THUMB_SIZE


def test_profile_shapes_cover_the_temporal_state() -> None:
    io = expected_tensors(num_styles=3, channels=16, stats_channels=96, temporal=True)
    shapes = profile_shapes(io, PROFILE)
    assert shapes["frame"] == ((1, 108, 192, 3), (1, 720, 1280, 3), (1, 1080, 1920, 3))
    assert shapes["prev_feats"] == ((1, 27, 48, 16), (1, 180, 320, 16), (1, 270, 480, 16))
    assert shapes["prev_stats"] == ((1, 2, 96),) * 3
    assert shapes["style"] == ((1, 3),) * 3
    assert list(shapes) == list(temporal_graph.INPUT_NAMES)


# --- bindings -----------------------------------------------------------------------------


def _tensors_of(io: GraphIO) -> list[EngineTensor]:
    """What an engine built from the graph reports: -1 for every dynamic dimension."""
    return [EngineTensor(s.name, is_input, s.dtype,
                         tuple(-1 if isinstance(d, str) else d for d in s.shape))
            for specs, is_input in ((io.inputs, True), (io.outputs, False)) for s in specs]


def _onnx_tensors(path: Path) -> list[EngineTensor]:
    """IO tensors of an exported ONNX file, as TensorRT would report them after parsing."""
    import onnx
    from onnx import helper

    graph = onnx.load(str(path)).graph
    weights = {w.name for w in graph.initializer}
    tensors = []
    for values, is_input in ((graph.input, True), (graph.output, False)):
        for value in values:
            if value.name in weights:
                continue
            kind = value.type.tensor_type
            dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in kind.shape.dim)
            dtype = np.dtype(helper.tensor_dtype_to_np_dtype(kind.elem_type)).name
            tensors.append(EngineTensor(value.name, is_input, dtype, dims))
    return tensors


def _io(network: StyleNetwork, temporal: bool) -> GraphIO:
    return expected_tensors(num_styles=network.spec.num_styles, channels=network.spec.channels,
                            stats_channels=network.stats_channels,
                            temporal=temporal)


@pytest.mark.slow
def test_binding_plan_matches_the_exported_frame_graph(
    network: StyleNetwork, cache_dir: Path
) -> None:
    io = _io(network, temporal=False)
    plan = plan_bindings(_onnx_tensors(export.export_onnx(network, cache_dir)), io,
                         rebuild=REBUILD)
    assert tuple(s.name for s in plan.inputs) == INPUT_NAMES
    assert tuple(s.name for s in plan.outputs) == OUTPUT_NAMES
    assert plan.shapes(720, 1280) == {"frame": (1, 720, 1280, 3), "style": (1, 3),
                                      "strength": (1,), "preserve": (1,),
                                      "stylized": (1, 720, 1280, 3)}


@pytest.mark.slow
def test_binding_plan_matches_the_exported_temporal_graph(
    network: StyleNetwork, cache_dir: Path
) -> None:
    from stylecast.model.export import export_temporal_onnx

    io = _io(network, temporal=True)
    plan = plan_bindings(_onnx_tensors(export_temporal_onnx(network, cache_dir)), io,
                         rebuild=REBUILD)
    assert tuple(s.name for s in plan.inputs) == temporal_graph.INPUT_NAMES
    assert tuple(s.name for s in plan.outputs) == temporal_graph.OUTPUT_NAMES
    k = network.stats_channels
    shapes = plan.shapes(360, 640)
    assert shapes["prev_feats"] == (1, 90, 160, 16) == shapes["features"]
    assert shapes["confidence"] == (1, 1, 90, 160)
    assert shapes["prev_stats"] == (1, 2, k) == shapes["stats"]
    assert shapes["stat_rate"] == (1,)


def test_binding_plan_reports_missing_and_extra_tensors(network: StyleNetwork) -> None:
    io = _io(network, temporal=True)
    tensors = [t for t in _tensors_of(io) if t.name not in ("prev_stats", "features")]
    tensors.append(EngineTensor("bogus", True, "float32", (1,)))
    with pytest.raises(EngineBuildError) as info:
        plan_bindings(tensors, io, rebuild=REBUILD)
    message = str(info.value)
    assert "missing input 'prev_stats'" in message
    assert "missing output 'features'" in message
    assert "unexpected input 'bogus'" in message
    assert message.endswith(f"Rebuild it: {REBUILD}")


def test_binding_plan_reports_dtype_role_and_shape_mismatches(network: StyleNetwork) -> None:
    io = _io(network, temporal=False)
    changed = {
        "stylized": EngineTensor("stylized", False, "float16", (1, -1, -1, 3)),
        "style": EngineTensor("style", True, "float32", (1, 8)),
        "preserve": EngineTensor("preserve", False, "float32", (1,)),
        "frame": EngineTensor("frame", True, "uint8", (1, -1, -1)),
    }
    tensors = [changed.get(t.name, t) for t in _tensors_of(io)]
    with pytest.raises(EngineBuildError) as info:
        plan_bindings(tensors, io, rebuild=REBUILD)
    message = str(info.value)
    assert "'stylized' is float16, expected uint8" in message
    assert "style has shape (1, 8), expected (1, 3)" in message
    assert "'preserve' is an output, expected an input" in message
    assert "frame has rank 3" in message


def test_binding_plan_accepts_the_graph_itself(network: StyleNetwork) -> None:
    io = _io(network, temporal=False)
    assert plan_bindings(_tensors_of(io), io, rebuild=REBUILD).inputs == io.inputs


# --- build progress -----------------------------------------------------------------------


class FakeBar:
    def __init__(self, total: int, desc: str, **kwargs: Any) -> None:
        self.total, self.desc, self.n, self.postfix, self.closed = total, desc, 0, "", False

    def update(self, steps: int) -> None:
        self.n += steps

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        self.postfix = text

    def close(self) -> None:
        self.closed = True


def test_build_progress_drives_one_bar() -> None:
    bars: list[FakeBar] = []

    def factory(**kwargs: Any) -> FakeBar:
        bars.append(FakeBar(**kwargs))
        return bars[-1]

    progress = BuildProgress("TensorRT lite f16", bar_factory=factory)
    progress.phase_start("Building engine", None, 4)
    progress.phase_start("Tactic timing", "Building engine", 50)
    assert progress.step_complete("Tactic timing", 10) is True
    assert progress.step_complete("Building engine", 1) is True
    progress.phase_finish("Tactic timing")
    assert len(bars) == 1 and bars[0].total == 4 and bars[0].n == 2
    assert bars[0].desc == "TensorRT lite f16: Building engine"
    assert bars[0].postfix == "Tactic timing" and not bars[0].closed
    progress.phase_finish("Building engine")
    assert bars[0].closed
    progress.cancelled.set()
    assert progress.step_complete("Building engine", 3) is False


# --- the runtime around it ----------------------------------------------------------------


def _fake_gpu(monkeypatch: pytest.MonkeyPatch, version: str = "10.3.0") -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", types.SimpleNamespace(__version__=version))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Fake GPU")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 6))


def test_capabilities_with_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_gpu(monkeypatch)
    caps = TensorRTRuntime.capabilities()
    assert caps.precisions == ("f16", "f32")
    assert caps.device == "cuda: Fake GPU (compute 8.6), TensorRT 10.3.0"
    assert TensorRTRuntime.supports_temporal


def test_runtime_refuses_bf16(network: StyleNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_gpu(monkeypatch)
    with pytest.raises(BackendUnavailable, match="tensorrt cannot run bf16"):
        TensorRTRuntime(network=network, precision="bf16").open()


def test_runtime_uses_an_engine_built_for_other_sizes(
    network: StyleNetwork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_gpu(monkeypatch)
    runtime = TensorRTRuntime(network=network, cache_dir=tmp_path)
    runtime._trt, runtime._precision = sys.modules["tensorrt"], "f16"
    machine = {"gpu_name": "Fake GPU", "compute_capability": "8.6", "tensorrt_version": "10.3.0"}
    four_k = ShapeProfile((192, 108), (3840, 2160), (3840, 2160))
    built = key_for(network, **machine, precision="f16", profile=four_k, temporal=False,
                    workspace_bytes=2**32, cache_dir=tmp_path)
    other_gpu = dataclasses.replace(built, gpu_name="Other GPU")
    write_engine(engine_path(built, tmp_path), built, PAYLOAD)
    write_engine(engine_path(other_gpu, tmp_path), other_gpu, PAYLOAD)
    path, key = runtime._locate(temporal=False)
    assert path == engine_path(built, tmp_path) and key == built
    assert read_engine(path, key) == PAYLOAD


def test_runtime_builds_the_default_profile_when_nothing_is_cached(
    network: StyleNetwork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_gpu(monkeypatch)
    calls: list[dict[str, Any]] = []

    def fake_build(net: StyleNetwork, **kwargs: Any) -> tuple[Path, bool]:
        calls.append(kwargs)
        return tmp_path / "built.engine", True

    monkeypatch.setattr(tensorrt_runtime, "build_engine_file", fake_build)
    runtime = TensorRTRuntime(network=network, cache_dir=tmp_path)
    runtime._trt, runtime._precision = sys.modules["tensorrt"], "f32"
    path, key = runtime._locate(temporal=True)
    assert path == tmp_path / "built.engine"
    assert calls == [{"precision": "f32", "profile": key.profile, "temporal": True,
                      "cache_dir": tmp_path}]
    assert key.profile == ShapeProfile(STILL_SIZE, (1280, 720), (1920, 1080))
    assert key.temporal and key.precision == "f32"


def test_closed_runtime_says_so(network: StyleNetwork) -> None:
    runtime = TensorRTRuntime(network=network)
    runtime.close()
    runtime.close()
    with pytest.raises(BackendUnavailable, match="not open"):
        runtime.infer(make_frame(64, 96), STYLE, 1.0, 0.0)


def _tensorrt_and_gpu() -> bool:
    try:
        import tensorrt  # noqa: F401
    except (ImportError, OSError):
        return False
    return torch.cuda.is_available()


@pytest.mark.trt
@pytest.mark.skipif(not _tensorrt_and_gpu(), reason="needs TensorRT and a CUDA GPU")
def test_real_engine_matches_torch(network: StyleNetwork, tmp_path: Path) -> None:
    from runtime_helpers import PRESERVE, STRENGTH, assert_close_to_reference

    frame = make_frame(360, 640)
    reference = torch_reference(network, frame)
    for _ in range(2):  # the second open reuses the engine the first one built
        runtime = TensorRTRuntime(network=network, precision="f32", cache_dir=tmp_path)
        runtime.open()
        try:
            assert_close_to_reference(runtime.infer(frame, STYLE, STRENGTH, PRESERVE),
                                      reference)
        finally:
            runtime.close()
        assert len(list(tmp_path.glob("engines/*.engine"))) == 1
