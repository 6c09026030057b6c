"""Shared helpers for the temporal tests (fixtures live in conftest.py)."""

from __future__ import annotations

import numpy as np
import torch

from stylecast.model.network import ConditionalInstanceNorm, NetworkSpec, StyleNetwork
from stylecast.runtime.base import Runtime
from stylecast.temporal.cache import TemporalCache

TINY = NetworkSpec("lite", num_styles=3, channels=16, blocks=2)
ALPHA = np.array([1.0, 0.0, 0.0], np.float32)
BETA = np.array([0.0, 1.0, 0.0], np.float32)


def make_network(seed: int = 0) -> StyleNetwork:
    """A tiny lite network with random style tables, so styles differ clearly."""
    torch.manual_seed(seed)
    network = StyleNetwork(TINY).eval()
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, ConditionalInstanceNorm):
                module.scale.normal_(1.0, 0.5)
                module.shift.normal_(0.0, 0.5)
    return network


def run_both(runtime: Runtime, frames: list[np.ndarray],
             style: np.ndarray = ALPHA) -> tuple[list[np.ndarray], list[np.ndarray], TemporalCache]:
    """Per-frame outputs, cached outputs and the cache that made them."""
    per_frame = [runtime.infer(f, style, 1.0, 0.0) for f in frames]
    cache = TemporalCache(runtime)
    cached = [cache.stylize(f, style, 1.0, 0.0).copy() for f in frames]
    return per_frame, cached, cache
