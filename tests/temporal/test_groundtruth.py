"""Footage with ground-truth flow (``--gt-flow``): the .flo reader, the loader's direction,
scaling and masks, and the bench rows it makes. Everything is written into tmp_path."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from temporal_helpers import ALPHA

from stylecast.errors import ConfigError
from stylecast.runtime.pytorch import TorchRuntime
from stylecast.tools.bench.clips import Clip
from stylecast.tools.bench.groundtruth import (
    FOOTPRINT_SPREAD,
    load_ground_truth,
    read_flo,
    resize_flow,
    write_flo,
)
from stylecast.tools.bench.temporal import clip_warping_error, markdown, run_temporal_bench
from stylecast.tools.synthetic import texture

SHIFT = 2  # pixels the content moves right per frame


def _sequence(root: Path, count: int = 5, size: tuple[int, int] = (96, 64),
              occluded_column: int | None = None) -> tuple[Path, Path, Path]:
    """A texture panning SHIFT px right per frame, in Sintel's layout: frames, forward flow
    (+SHIFT, 0) and occlusion masks (the left SHIFT columns are new in each next frame, so
    nothing of frame t is hidden; ``occluded_column`` marks one column as occluded)."""
    width, height = size
    canvas = texture(height, width + SHIFT * count, seed=3).astype(np.uint8)
    frames, flow, masks = root / "clean", root / "flow", root / "occlusions"
    for folder in (frames, flow, masks):
        folder.mkdir(parents=True)
    start = SHIFT * count
    for t in range(count):
        x0 = start - SHIFT * t  # content moves right: the window slides left
        crop = np.ascontiguousarray(canvas[:, x0:x0 + width])
        cv2.imwrite(str(frames / f"frame_{t + 1:04d}.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
        if t < count - 1:
            write_flo(flow / f"frame_{t + 1:04d}.flo",
                      np.dstack([np.full((height, width), SHIFT, np.float32),
                                 np.zeros((height, width), np.float32)]))
            mask = np.zeros((height, width), np.uint8)
            if occluded_column is not None:
                mask[:, occluded_column] = 255
            cv2.imwrite(str(masks / f"frame_{t + 1:04d}.png"), mask)
    return frames, flow, masks


def test_flo_round_trip_and_clear_errors(tmp_path: Path) -> None:
    flow = np.random.default_rng(0).normal(size=(7, 5, 2)).astype(np.float32)
    write_flo(tmp_path / "a.flo", flow)
    np.testing.assert_array_equal(read_flo(tmp_path / "a.flo"), flow)
    (tmp_path / "bad.flo").write_bytes(b"\x89PNG" + bytes(20))
    with pytest.raises(ConfigError, match="not a Middlebury .flo flow file"):
        read_flo(tmp_path / "bad.flo")
    (tmp_path / "empty.flo").write_bytes(b"PIEH" + bytes(8))  # the magic, then 0x0
    with pytest.raises(ConfigError, match="header says 0x0, not a flow size"):
        read_flo(tmp_path / "empty.flo")
    (tmp_path / "short.flo").write_bytes((tmp_path / "a.flo").read_bytes()[:-4])
    with pytest.raises(ConfigError, match="cut short: its header says 5x7"):
        read_flo(tmp_path / "short.flo")


def test_forward_flow_scores_the_true_motion_and_not_its_reverse(tmp_path: Path) -> None:
    frames, flows, visible = load_ground_truth(*_sequence(tmp_path), (96, 64), 10)
    assert len(frames) == 5 and len(flows) == len(visible) == 4
    # Pixels whose target falls off the right edge are not scored.
    assert not visible[0][:, -SHIFT:].any() and visible[0][:, :-SHIFT].all()
    clip = Clip("pan", "ground truth", frames, flows, visible, forward=True)
    assert clip_warping_error(frames, clip) < 0.01  # the input itself is exactly consistent
    # Read as backward flow (the wrong direction), the same data is far from consistent.
    assert clip_warping_error(frames, Clip("pan", "x", frames, flows, visible)) > 10.0
    assert clip.motion_at(4) is None and clip.motion_at(0) is not None


def test_scaled_footage_keeps_true_motion_and_drops_mixed_footprints(tmp_path: Path) -> None:
    frames, flows, visible = load_ground_truth(*_sequence(tmp_path), (48, 32), 10)
    assert frames[0].shape == (32, 48, 3)
    assert np.abs(flows[0][visible[0]] - [SHIFT / 2, 0.0]).max() < 1e-5
    clip = Clip("pan", "ground truth", frames, flows, visible, forward=True)
    assert clip_warping_error(frames, clip) < 1.0  # an even shift halves to whole pixels
    # A footprint across a motion boundary mixes two motions: not scored.
    flow = np.zeros((8, 8, 2), np.float32)
    flow[:, 3:, 0] = 4.0
    small, scored = resize_flow(flow, np.ones((8, 8), bool), (4, 4))
    assert not scored[:, 1].any()  # the column whose footprint holds x = 2 and 3
    assert scored[:, 0].all() and scored[:, 2:].all()
    assert FOOTPRINT_SPREAD < 1.0


def test_occluded_and_unknown_pixels_are_not_scored(tmp_path: Path) -> None:
    frames_dir, flow_dir, masks_dir = _sequence(tmp_path, occluded_column=10)
    flow = read_flo(flow_dir / "frame_0001.flo").copy()
    flow[5, 20] = [1e10, 0.0]  # Middlebury's "unknown"
    write_flo(flow_dir / "frame_0001.flo", flow)
    _, _, visible = load_ground_truth(frames_dir, flow_dir, masks_dir, (96, 64), 10)
    assert not visible[0][:, 10].any() and visible[0][:, 11].all()
    assert not visible[0][5, 20] and visible[1][5, 20]
    _, _, unmasked = load_ground_truth(frames_dir, flow_dir, None, (96, 64), 10)
    assert unmasked[0][:, 10].all()


def test_bad_ground_truth_folders_are_named(tmp_path: Path) -> None:
    frames_dir, flow_dir, masks_dir = _sequence(tmp_path)
    with pytest.raises(ConfigError, match="the frames folder .*nowhere does not exist"):
        load_ground_truth(tmp_path / "nowhere", flow_dir, None, (96, 64), 10)
    for mask in sorted(masks_dir.iterdir())[1:]:
        mask.unlink()
    with pytest.raises(ConfigError, match="has 1 masks for 4 flow files"):
        load_ground_truth(frames_dir, flow_dir, masks_dir, (96, 64), 10)
    write_flo(flow_dir / "frame_0001.flo", np.zeros((10, 10, 2), np.float32))
    with pytest.raises(ConfigError, match="frame_0001.flo is 10x10 but .* is 96x64"):
        load_ground_truth(frames_dir, flow_dir, None, (96, 64), 10)


def test_bench_scores_ground_truth_sequences_alone(runtime: TorchRuntime,
                                                  tmp_path: Path) -> None:
    source = _sequence(tmp_path, count=6)
    rows = run_temporal_bench(runtime, ALPHA, (96, 64), 6, 4.0, None, None, "none",
                              ground_truth=[source], only_ground_truth=True)
    assert [(r.flow, r.frames) for r in rows] == [("ground truth", 6)]
    row = rows[0]
    assert row.sequence == f"{tmp_path.name}/clean"  # Sintel: clean/alley_1, final/alley_1
    assert row.error_per_frame > 0 and row.error_cached < row.error_per_frame
    assert row.ghost_moving > 0  # the moving mask comes from the forward flow
    assert "On the 1 with ground-truth flow: median warping-error ratio" in markdown(rows)


@pytest.mark.parametrize(("extra", "message"), [
    (["--gt-flow", "a"], "--gt-flow takes 2 or 3 folders (FRAMES FLOW [OCCLUSIONS]), got 1"),
    (["--gt-only"], "--gt-only needs at least one --gt-flow"),
    (["--temporal-size", "1022x436"], "width and height must be multiples of 4 (the "
     "network's stride); e.g. 1020x436"),
    (["--temporal-size", "1024x437"], "--temporal-size: size '1024x437' must have even"),
])
def test_cli_refuses_incomplete_ground_truth(extra: list[str], message: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from stylecast.cli import main

    assert main(["bench", "--temporal", *extra]) == 1
    assert message in capsys.readouterr().err


def test_temporal_results_are_prepended_to_the_write_file(tmp_path: Path) -> None:
    from stylecast.cli import main
    from stylecast.cli.bench import BENCH_HEADER

    frames, flow, masks = _sequence(tmp_path / "seq", count=3)
    log = tmp_path / "BENCHMARKS.md"
    log.write_text(BENCH_HEADER + "## an older block\n", encoding="utf-8")
    assert main(["bench", "--temporal", "--temporal-runtime", "torch", "--temporal-size",
                 "96x64", "--temporal-frames", "3", "--gt-only", "--gt-flow", str(frames),
                 str(flow), str(masks), "--write", str(log)]) == 0
    text = log.read_text(encoding="utf-8")
    assert text.startswith(BENCH_HEADER + "### Temporal cache, ")
    assert "| seq/clean | ground truth | 3 | 96x64 |" in text
    assert text.endswith("## an older block\n")  # newest first, nothing lost


def _write_pfm(path: Path, flow: np.ndarray, little_endian: bool = True) -> None:
    """Flow as a three-channel PFM, bottom row first (the Scene Flow datasets' files)."""
    height, width = flow.shape[:2]
    planes = np.dstack([flow, np.zeros((height, width), np.float32)])[::-1]
    order = "<f4" if little_endian else ">f4"
    scale = "-1.0" if little_endian else "1.0"
    path.write_bytes(f"PF\n{width} {height}\n{scale}\n".encode()
                     + np.ascontiguousarray(planes, order).tobytes())


def test_pfm_kitti_and_npy_flows_read_as_the_same_motion(tmp_path: Path) -> None:
    from stylecast.tools.bench.groundtruth import read_flow

    rng = np.random.default_rng(1)
    flow = np.round(rng.normal(scale=8.0, size=(6, 9, 2)) * 64) / 64  # KITTI's 1/64 px step
    flow = flow.astype(np.float32)
    for little in (True, False):  # rows bottom to top, either byte order
        _write_pfm(tmp_path / "a.pfm", flow, little)
        read, known = read_flow(tmp_path / "a.pfm")
        np.testing.assert_array_equal(read, flow)
        assert known.all()
    # KITTI: uint16 64 * flow + 2**15 in R (u) and G (v), B = valid.
    encoded = np.dstack([np.ones((6, 9)), flow[..., 1] * 64 + 2 ** 15,
                         flow[..., 0] * 64 + 2 ** 15]).astype(np.uint16)
    encoded[2, 3, 0] = 0  # one pixel without ground truth
    cv2.imwrite(str(tmp_path / "k.png"), encoded)
    read, known = read_flow(tmp_path / "k.png")
    assert not known[2, 3] and known.sum() == known.size - 1
    np.testing.assert_array_equal(read[known], flow[known])
    assert (read[2, 3] == 0).all()
    with_nan = flow.copy()
    with_nan[0, 0, 1] = np.nan
    np.save(tmp_path / "n.npy", with_nan)
    read, known = read_flow(tmp_path / "n.npy")
    assert not known[0, 0] and (read[0, 0] == 0).all() and known[1:].all()


@pytest.mark.parametrize(("name", "content", "message"), [
    ("disparity.pfm", b"Pf\n4 2\n-1.0\n" + bytes(32), "one-channel PFM"),
    ("short.pfm", b"PF\n4 2\n-1.0\n" + bytes(40), "cut short or malformed: its header says 4x2"),
    ("text.pfm", b"hello", "is not a PFM file"),
    ("mask.png", None, "not a KITTI flow PNG (16-bit, three channels"),
    ("wrong.npy", np.zeros((4, 4, 3), np.float32), "a flow .npy must be float (H, W, 2)"),
    ("flow.txt", b"1 2", ".txt is not a flow format read here"),
])
def test_bad_flow_files_say_what_they_are(tmp_path: Path, name: str, content: object,
                                          message: str) -> None:
    from stylecast.tools.bench.groundtruth import read_flow

    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, np.ndarray):
        np.save(path, content)
    else:
        cv2.imwrite(str(path), np.zeros((4, 4), np.uint8))  # an 8-bit occlusion mask
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_flow(path)


def _scene_flow_layout(root: Path, count: int = 5, hidden_column: int = 10,
                       backward_sign: float = -1.0) -> tuple[Path, Path, Path]:
    """The pan of ``_sequence`` as the Scene Flow datasets ship it: PFM flows, one per frame,
    ``into_future`` (file t: frame t to t + 1, the last unused) and ``into_past`` (file t:
    frame t to t - 1, the first unused), no occlusion masks. In backward file t the column
    where frame t - 1's ``hidden_column + 2 t`` lands points nowhere near back (as if
    something covered it), so the forward-backward check must call that column hidden; a
    different column each frame, so reading the files shifted by one shows."""
    frames, _, _ = _sequence(root / "seq", count=count)
    future, past = root / "into_future", root / "into_past"
    future.mkdir()
    past.mkdir()
    height, width = 64, 96
    for t in range(count):
        forward = np.dstack([np.full((height, width), SHIFT, np.float32),
                             np.zeros((height, width), np.float32)])
        backward = forward * backward_sign
        backward[:, hidden_column + 2 * t + SHIFT] = 0.0
        _write_pfm(future / f"OpticalFlowIntoFuture_{t:04d}_L.pfm", forward)
        _write_pfm(past / f"OpticalFlowIntoPast_{t:04d}_L.pfm", backward)
    return frames, future, past


def test_backward_flow_folder_marks_hidden_pixels(tmp_path: Path) -> None:
    frames_dir, future, past = _scene_flow_layout(tmp_path)
    frames, flows, visible = load_ground_truth(frames_dir, future, past, (96, 64), 10)
    assert len(frames) == 5 and len(flows) == 4  # the last into_future file is not used
    for t, mask in enumerate(visible):  # pair (t, t + 1) is checked by into_past file t + 1
        hidden = 10 + 2 * (t + 1)
        assert not mask[:, hidden].any()  # its backward flow does not come back
        assert mask[:, hidden - 2].all() and mask[:, hidden + 1].all()
    _, _, unchecked = load_ground_truth(frames_dir, future, None, (96, 64), 10)
    assert unchecked[0][:, 12].all()
    clip = Clip("pan", "ground truth", frames, flows, visible, forward=True)
    assert clip_warping_error(frames, clip) < 0.01


def test_a_backward_folder_that_is_not_the_backward_flow_is_refused(tmp_path: Path) -> None:
    frames_dir, future, past = _scene_flow_layout(tmp_path, backward_sign=1.0)
    with pytest.raises(ConfigError, match="disagrees with the forward flow .* on more than 50%"):
        load_ground_truth(frames_dir, future, past, (96, 64), 10)


def test_cli_scores_scene_flow_footage_with_backward_flow(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from stylecast.cli import main

    frames, future, past = _scene_flow_layout(tmp_path, count=3)
    assert main(["bench", "--temporal", "--temporal-runtime", "torch", "--temporal-size",
                 "96x64", "--temporal-frames", "3", "--gt-only", "--gt-flow", str(frames),
                 str(future), str(past)]) == 0
    assert "| seq/clean | ground truth, occlusions by backward flow | 3 | 96x64 |" in (
        capsys.readouterr().out)
