"""`stylecast run` stopped by SIGINT or SIGTERM, at start-up and while running, for real.

The CLI runs as a subprocess (signals go to a real process, not to pytest) with a tiny pack
written by the test; the recording it leaves must decode.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import pytest

from tests.conftest import make_pack

EXIT_WITHIN_S = 3.0
FRAMES_BEFORE_SIGNAL = 20
READY_TIMEOUT_S = 90.0  # importing torch on a loaded 2-core machine is slow
RUNNING = "stylecast: test pattern"  # the line printed once the pipeline runs
STARTING = "network testpack/lite"  # logged while the stylizer opens, before the pipeline


def _launch(tmp_path: Path, out: Path) -> tuple[subprocess.Popen[str], queue.Queue[str]]:
    pack_root = tmp_path / "packs"
    if not pack_root.exists():
        make_pack(pack_root / "testpack")
    env = {**os.environ, "STYLECAST_STYLES": str(pack_root), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "stylecast", "-v", "run", "--input", "test", "--record",
           str(out), "--no-control", "--style", "alpha", "--runtime", "torch",
           "--size", "160x120", "--status-every", "0"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True, env=env, cwd=tmp_path)
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return proc, lines


def _wait_line(proc: subprocess.Popen[str], lines: queue.Queue[str], needle: str,
               seen: list[str]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.05)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        if needle in line:
            return
    proc.kill()
    pytest.fail(f"never saw {needle!r}:\n{''.join(seen)}")


def _frames_counted(progress: str) -> int:
    """The last frame count a tqdm bar printed ("| 23/100000 ["), 0 before the first."""
    counts = re.findall(r"\| *(\d+)/\d+ \[", progress)
    return int(counts[-1]) if counts else 0


def _frames_in(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def _stop_and_time(proc: subprocess.Popen[str], sig: signal.Signals) -> float:
    sent = time.monotonic()
    proc.send_signal(sig)
    try:
        proc.wait(timeout=EXIT_WITHIN_S + 5)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"stylecast run did not exit within {EXIT_WITHIN_S + 5} s of {sig.name}")
    return time.monotonic() - sent


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_while_running_exits_promptly_with_a_playable_recording(
    tmp_path: Path, sig: signal.Signals,
) -> None:
    out = tmp_path / "out.mp4"
    proc, lines = _launch(tmp_path, out)
    seen: list[str] = []
    _wait_line(proc, lines, RUNNING, seen)
    time.sleep(1.5)
    took = _stop_and_time(proc, sig)
    assert took < EXIT_WITHIN_S, took
    assert proc.returncode == 130, "".join(seen)
    assert _frames_in(out) > 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_startup_exits_promptly(tmp_path: Path, sig: signal.Signals) -> None:
    out = tmp_path / "out.mp4"
    proc, lines = _launch(tmp_path, out)
    seen: list[str] = []
    _wait_line(proc, lines, STARTING, seen)
    took = _stop_and_time(proc, sig)
    rest = "".join(seen) + "".join(iter_queue(lines))
    assert took < EXIT_WITHIN_S, took
    assert proc.returncode == 130, rest
    assert "Traceback" not in rest
    if out.exists() and out.stat().st_size > 0:
        _frames_in(out)  # whatever was written is a valid file


def iter_queue(lines: queue.Queue[str]) -> list[str]:
    items = []
    while not lines.empty():
        items.append(lines.get_nowait())
    return items


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_render_stopped_by_a_signal_leaves_a_playable_file(
    tmp_path: Path, sig: signal.Signals,
) -> None:
    pack_root = tmp_path / "packs"
    make_pack(pack_root / "testpack")
    out = tmp_path / "painted.mp4"
    env = {**os.environ, "STYLECAST_STYLES": str(pack_root), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "stylecast", "render", "test", "-o", str(out), "--frames",
           "100000", "--style", "alpha", "--runtime", "torch", "--size", "160x120"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True, env=env, cwd=tmp_path)
    stopped: list[float] = []
    err: list[str] = []

    def pump() -> None:  # the progress bar writes no newlines: read in chunks
        assert proc.stderr is not None
        while chunk := proc.stderr.read(64):
            err.append(chunk)
            if not stopped and "stopped after" in "".join(err[-3:]):
                stopped.append(time.monotonic())

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    deadline = time.monotonic() + READY_TIMEOUT_S
    # Wait on the progress bar, not the file: FFmpeg's MP4 muxer writes in 256 KB blocks,
    # which this tiny pattern fills only after ~1,350 frames (minutes on a loaded machine).
    while _frames_counted("".join(err[-4:])) < FRAMES_BEFORE_SIGNAL:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            reader.join(5)
            pytest.fail(f"render never wrote frames:\n{''.join(err)}")
        time.sleep(0.1)
    sent = time.monotonic()
    _stop_and_time(proc, sig)
    reader.join(5)
    text = "".join(err)
    # The output is closed when the line comes; the rest is the interpreter's own exit
    # (torch's teardown), which a loaded 2-core machine can stretch past a few seconds.
    assert stopped, text
    assert stopped[0] - sent < EXIT_WITHIN_S, stopped[0] - sent
    assert proc.returncode == 130, text
    assert "Traceback" not in text
    assert _frames_in(out) > 0
