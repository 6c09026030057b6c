"""Where the files shipped beside the code are: the style packs and the OBS script.

The repository keeps them in the top-level ``styles/`` and ``obs/`` folders; a built wheel
carries them as package data, mapped by ``[tool.setuptools] package-dir`` in pyproject.toml
to ``stylecast/_styles`` and ``stylecast/_obs``. Both layouts are looked up by path, so an
editable install from a checkout and a wheel in site-packages find the same files.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
OBS_SCRIPT_NAME = "stylecast_source.lua"


def _checkout() -> Path | None:
    """The repository root when stylecast runs from a checkout, else None.

    A wheel's ``stylecast/`` sits in site-packages, whose parent may hold anything (another
    distribution's ``styles/`` folder, say), so a checkout is recognised by its
    pyproject.toml rather than by the folder alone.
    """
    root = _PACKAGE.parent
    return root if (root / "pyproject.toml").is_file() else None


def _shipped(installed: str, in_checkout: str) -> Path:
    """The installed package-data folder when present, else the checkout's folder; the
    installed path (which then does not exist) when neither is there."""
    wheel = _PACKAGE / installed
    if wheel.is_dir():
        return wheel
    root = _checkout()
    if root is not None and (root / in_checkout).is_dir():
        return root / in_checkout
    return wheel


def styles_dir() -> Path:
    """The folder of style packs shipped with stylecast (``styles/`` in a checkout)."""
    return _shipped("_styles", "styles")


def obs_script() -> Path:
    """The OBS Lua source script, for OBS's Tools > Scripts > "+" (may not exist when the
    install is broken; callers check)."""
    return _shipped("_obs", "obs") / OBS_SCRIPT_NAME
