"""A first run, as a user starts it, prints no warnings: not the ONNX exporter's chatter and
not the runtimes this machine lacks. A subprocess, because pytest captures warnings and
logging itself and torch writes through its own handler."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

WARNING_LINE = re.compile(r"warning", re.IGNORECASE)


def _user_env(tmp_path: Path, tiny_pack: Path) -> dict[str, str]:
    """The tiny pack as the only styles, and an empty cache: the first run exports ONNX."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    env.update(STYLECAST_STYLES=str(tiny_pack.parent), XDG_CACHE_HOME=str(tmp_path / "cache"),
               XDG_DATA_HOME=str(tmp_path / "data"))
    return env


def _stylecast(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stylecast", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
def test_the_readme_demo_on_a_fresh_cache_prints_no_warnings(
    tmp_path: Path, tiny_pack: Path
) -> None:
    env = _user_env(tmp_path, tiny_pack)
    # The README demo, shorter and smaller; the temporal cache is on, so both graphs export.
    done = _stylecast(["run", "--input", "test", "--style", "alpha", "--size", "128x96",
                       "--record", "demo.mp4", "--duration", "2", "--no-control"],
                      tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert list((tmp_path / "cache" / "stylecast" / "onnx").glob("*.onnx")), \
        "nothing was exported: the test did not see a first run"
    noisy = [line for line in done.stderr.splitlines() if WARNING_LINE.search(line)]
    assert not noisy, "\n".join(noisy)
    assert "torchvision" not in done.stderr
    assert re.search(r"network testpack/lite on \S+", done.stderr), done.stderr
    assert (tmp_path / "demo.mp4").stat().st_size > 0


@pytest.mark.slow
def test_verbose_shows_what_a_quiet_run_leaves_out(tmp_path: Path, tiny_pack: Path) -> None:
    """--verbose: the runtimes auto passed over (if this machine lacks any) at debug level."""
    from stylecast.runtime import describe_runtimes

    env = _user_env(tmp_path, tiny_pack)
    photo = tmp_path / "photo.png"
    _write_picture(photo)
    done = _stylecast(["-v", "render", str(photo), "-o", "out.png", "--style", "alpha",
                       "--runtime", "auto"], tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.png").is_file()
    for row in describe_runtimes():
        if row["available"]:
            break
        assert f"DEBUG stylecast.runtime.registry: runtime {row['name']} unavailable" \
            in done.stderr


def _write_picture(path: Path) -> None:
    from PIL import Image

    from tests.media import moving_frame

    Image.fromarray(moving_frame(0, 64, 48)).save(path)
