"""kernels/ is the package stylecast.kernels, in the source tree and in built wheels."""

from __future__ import annotations

import tomllib
from pathlib import Path

import stylecast
import stylecast.kernels

ROOT = Path(__file__).resolve().parents[2]


def _setuptools() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        config: dict[str, object] = tomllib.load(f)["tool"]["setuptools"]
    return config


def test_kernels_folder_is_mapped_into_the_package() -> None:
    assert _setuptools()["package-dir"]["stylecast.kernels"] == "kernels"  # type: ignore[index]  # pyproject's TOML is untyped
    assert "stylecast.kernels" in _setuptools()["packages"]  # type: ignore[operator]  # pyproject's TOML is untyped
    assert (ROOT / "kernels" / "__init__.py").is_file()


def test_every_subpackage_is_listed() -> None:
    """packages is a list (find cannot map kernels/): a new subpackage must be added."""
    base = Path(stylecast.__file__).parent
    found = {"stylecast." + ".".join(p.parent.relative_to(base).parts)
             for p in base.rglob("__init__.py") if p.parent != base}
    listed = set(_setuptools()["packages"])  # type: ignore[call-overload]  # pyproject's TOML is untyped
    missing = found - listed
    assert not missing, f"add {sorted(missing)} to [tool.setuptools] packages"


def test_kernels_come_from_the_same_tree_as_the_package() -> None:
    """From a checkout (pip install -e .) stylecast.kernels is kernels/; from a wheel it
    is stylecast/kernels/ beside the rest of the package."""
    package = Path(stylecast.__file__).resolve().parent
    kernels = Path(stylecast.kernels.__file__).resolve()
    if package == ROOT / "stylecast":
        assert kernels == ROOT / "kernels" / "__init__.py"
    else:
        assert kernels == package / "kernels" / "__init__.py"
