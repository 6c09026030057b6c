"""Fixtures for the temporal tests: a tiny random network behind the torch runtime."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporal_helpers import SPREAD

from stylecast.runtime.pytorch import TorchRuntime
from tests.conftest import make_network


@pytest.fixture
def runtime() -> TorchRuntime:
    rt = TorchRuntime(network=make_network(spread=SPREAD))
    rt.open()
    return rt


@pytest.fixture(autouse=True)
def _no_user_cache(tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a test forgets to pass, nothing lands in the real user cache."""
    stray = tmp_path_factory.mktemp("stray-cache")
    monkeypatch.setattr("stylecast.model.export.default_cache_dir", lambda: Path(stray))
