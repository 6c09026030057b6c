"""The built wheel is the whole product: installed into a fresh venv, outside the checkout,
with torch unimportable, it lists the shipped styles, paints a photo (on the pack's shipped
ONNX graphs) and shows the OBS script in ``doctor``.

Offline and quick: the wheel is built without build isolation (setuptools comes from this
venv), the fresh venv has no pip of its own (this venv's pip installs into it), and its
dependencies (torch, PyAV, OpenVINO ...) come from this venv's site-packages through a .pth
line. A .pth line adds the folder only; the .pth files inside it (this checkout's editable
install) are not run, so ``stylecast`` can only be the wheel's.
"""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.media import moving_frame

ROOT = Path(__file__).resolve().parents[1]
# Not needed to build the wheel, or not part of the tree (.gitignore).
_SKIP = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__",
                               ".*_cache", ".hypothesis", "runs", "out", "tests", "docs")


def _run(args: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                          timeout=600, check=False, **kwargs)  # type: ignore[call-overload]  # kwargs from a dict: mypy cannot pick the overload
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done


def _build_wheel(tmp_path: Path) -> Path:
    # A copy, so the build's build/ and egg-info never touch the checkout (and no stale
    # build/lib from an earlier build slips into this wheel).
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=_SKIP)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "--wheel-dir", tmp_path / "dist", source])
    (wheel,) = (tmp_path / "dist").glob("stylecast-*.whl")
    return wheel


def _fresh_venv(tmp_path: Path, wheel: Path) -> tuple[Path, Path]:
    """(scripts folder, site-packages) of a new venv holding only the wheel."""
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
          "--no-index", wheel])
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_path("
                         "'purelib'))"]).stdout.strip())
    (purelib / "_stylecast_test_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return bindir, purelib


def _shipped_style_names() -> list[str]:
    with (ROOT / "styles" / "classic" / "manifest.toml").open("rb") as f:
        return [style["name"] for style in tomllib.load(f)["styles"]]


@pytest.mark.slow
def test_the_wheel_paints_and_ships_styles_and_the_obs_script(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    bindir, purelib = _fresh_venv(tmp_path, wheel)
    user = tmp_path / "user"  # the cwd: the checkout is nowhere on sys.path
    user.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "STYLECAST_STYLES", "PYTHONWARNINGS")}
    env.update(XDG_DATA_HOME=str(tmp_path / "data"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    # As on a CPU user's machine, where `pip install stylecast` brings no torch: this venv's
    # torch (reached through the .pth line) is made unimportable.
    shim = tmp_path / "no-torch"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(
        "import sys\nfor _name in ('torch', 'torchvision'):\n    sys.modules[_name] = None\n")
    env["PYTHONPATH"] = str(shim)
    exe = bindir / "stylecast"

    where = _run([bindir / "python", "-c", "import stylecast; print(stylecast.__file__)"],
                 cwd=user, env=env).stdout.strip()
    assert Path(where).is_relative_to(purelib), f"stylecast imported from {where}"

    listed = _run([exe, "styles"], cwd=user, env=env).stdout
    for name in _shipped_style_names():
        assert re.search(rf"^{re.escape(name)}\s", listed, re.MULTILINE), listed
    assert "[classic]" in listed

    photo = moving_frame(2, 162, 98)  # not multiples of 4
    Image.fromarray(photo).save(user / "photo.jpg", quality=95)
    done = _run([exe, "render", "photo.jpg", "-o", "painted.png", "--style", "great-wave"],
                cwd=user, env=env)
    painted = np.asarray(Image.open(user / "painted.png").convert("RGB"))
    before = np.asarray(Image.open(user / "photo.jpg").convert("RGB"))
    assert painted.shape == before.shape == (98, 162, 3)
    assert np.abs(painted.astype(int) - before).mean() > 10, "the picture was not painted"
    assert not [line for line in done.stderr.splitlines() if "warning" in line.lower()]

    doctor = _run([exe, "doctor"], cwd=user, env=env).stdout
    script = re.search(r"^\[ok  \] obs\s+script\s+.*?: (\S+stylecast_source\.lua)$", doctor,
                       re.MULTILINE)
    assert script, doctor
    assert Path(script.group(1)).is_file()
    assert Path(script.group(1)).is_relative_to(purelib)
    assert re.search(rf"styles\s+packs\s+{len(_shipped_style_names())} styles", doctor), doctor
    assert "no torch" in doctor, doctor
    assert re.search(r"^\[ok  \] styles\s+onnx graphs", doctor, re.MULTILINE), doctor
