from __future__ import annotations

import numpy as np
import pytest

from stylecast.engine.mixer import StyleMixer
from stylecast.errors import ConfigError


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_cut_and_crossfade_follow_the_clock() -> None:
    clock = FakeClock()
    mixer = StyleMixer(["a", "b", "c"], {"a": 1.0}, clock=clock)
    assert np.allclose(mixer.vector(), [1, 0, 0])
    mixer.set({"b": 1.0}, transition_ms=1000)
    assert np.allclose(mixer.vector(), [1, 0, 0])
    clock.now += 0.5
    assert np.allclose(mixer.vector(), [0.5, 0.5, 0])
    clock.now += 0.6
    assert np.allclose(mixer.vector(), [0, 1, 0])
    assert mixer.dominant() == "b"


def test_retarget_mid_fade_starts_from_where_it_is() -> None:
    clock = FakeClock()
    mixer = StyleMixer(["a", "b", "c"], {"a": 1.0}, clock=clock)
    mixer.set({"b": 1.0}, transition_ms=1000)
    clock.now += 0.5
    mixer.set({"c": 1.0}, transition_ms=0)
    assert np.allclose(mixer.vector(), [0, 0, 1])


def test_blend_weights_are_normalised() -> None:
    mixer = StyleMixer(["a", "b"], {"a": 3.0, "b": 1.0})
    assert np.allclose(mixer.vector(), [0.75, 0.25])
    assert mixer.weights() == {"a": 0.75, "b": 0.25}


@pytest.mark.parametrize("weights, message", [
    ({"zzz": 1.0}, "not in the loaded network"),
    ({"a": 0.0}, "positive weight"),
    ({"a": -1.0}, ">= 0"),
    ({"a": float("nan")}, "finite"),
])
def test_bad_mixes_are_refused(weights: dict, message: str) -> None:
    mixer = StyleMixer(["a", "b"], {"a": 1.0})
    with pytest.raises(ConfigError, match=message):
        mixer.set(weights)
    assert np.allclose(mixer.vector(), [1, 0])
