"""Fixtures for runtime tests: a tiny random network and one shared export cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_helpers import SPREAD

from stylecast.model.network import StyleNetwork
from tests.conftest import make_network


@pytest.fixture(scope="session")
def network() -> StyleNetwork:
    return make_network(spread=SPREAD)


@pytest.fixture(autouse=True)
def _no_user_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever a test forgets to pass, nothing lands in the real user cache."""
    stray = tmp_path_factory.mktemp("stray-cache")
    monkeypatch.setattr("stylecast.model.export.default_cache_dir", lambda: stray)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the session, so the tiny network is exported once."""
    return tmp_path_factory.mktemp("stylecast-cache")
