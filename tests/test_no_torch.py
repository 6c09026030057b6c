"""A CPU user has no torch: with the shipped pack's ONNX graphs, ``styles``, ``render``,
``run`` and ``doctor`` work in a process where ``import torch`` fails.

torch is made unimportable by a ``sitecustomize`` on PYTHONPATH that puts None in
``sys.modules`` for it (and torchvision), so any import of torch on these paths raises.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from stylecast.model.pack import load_pack
from stylecast.shipped import styles_dir
from tests.media import moving_frame

_SHIM = """\
import sys
for _name in ("torch", "torchvision"):
    sys.modules[_name] = None  # "import torch" raises ImportError
"""


@pytest.fixture
def no_torch_env(tmp_path: Path) -> dict[str, str]:
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(_SHIM)
    env = {k: v for k, v in os.environ.items() if k not in ("STYLECAST_STYLES",
                                                            "PYTHONWARNINGS")}
    env.update(PYTHONPATH=str(shim), XDG_CACHE_HOME=str(tmp_path / "cache"),
               XDG_DATA_HOME=str(tmp_path / "data"))
    return env


def _stylecast(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stylecast.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_the_shim_really_blocks_torch(no_torch_env: dict[str, str], tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "import torch"], env=no_torch_env,
                          cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "ModuleNotFoundError" in done.stderr or "ImportError" in done.stderr


def test_the_shipped_pack_carries_current_graphs() -> None:
    pack = load_pack(styles_dir() / "classic")
    network = pack.network("lite")
    for kind in ("onnx", "temporal_onnx"):
        assert network.graph_problem(kind) is None, (
            f"{network.graph_problem(kind)} (after new weights: stylecast export-onnx "
            "styles/classic --network lite)")
        assert network.graph(kind) is not None


def test_styles_render_and_doctor_without_torch(no_torch_env: dict[str, str],
                                               tmp_path: Path) -> None:
    Image.fromarray(moving_frame(1, 166, 94)).save(tmp_path / "photo.jpg", quality=95)
    listed = _stylecast(["styles"], no_torch_env, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "starry-night" in listed.stdout

    done = _stylecast(["render", "photo.jpg", "-o", "painted.png", "--style", "scream"],
                      no_torch_env, tmp_path)
    assert done.returncode == 0, done.stderr
    painted = np.asarray(Image.open(tmp_path / "painted.png").convert("RGB"))
    before = np.asarray(Image.open(tmp_path / "photo.jpg").convert("RGB"))
    assert painted.shape == before.shape
    assert np.abs(painted.astype(int) - before).mean() > 10, "the picture was not painted"
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "cache" / "stylecast" / "onnx").exists(), "a graph was exported"

    doctor = _stylecast(["doctor"], no_torch_env, tmp_path)
    assert doctor.returncode == 0, doctor.stderr
    assert "no torch" in doctor.stdout
    assert "[ok  ] styles   onnx graphs" in doctor.stdout


@pytest.mark.slow
def test_a_live_run_with_the_temporal_cache_without_torch(no_torch_env: dict[str, str],
                                                         tmp_path: Path) -> None:
    done = _stylecast(["run", "--input", "test", "--size", "320x180", "--style",
                       "udnie", "--record", "demo.mp4", "--duration", "2"],
                      no_torch_env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    with av.open(str(tmp_path / "demo.mp4")) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames > 0


def test_a_command_that_needs_torch_says_what_to_install(no_torch_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    done = _stylecast(["train", str(styles_dir() / "classic" / "recipe.toml"), "--data",
                       str(tmp_path)], no_torch_env, tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "`stylecast train` needs PyTorch" in done.stderr
    assert "pip install torch==2.13.0" in done.stderr
