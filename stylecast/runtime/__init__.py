"""Inference runtimes: one file each, chosen by name through ``registry``."""

from __future__ import annotations

from stylecast.runtime.base import PRECISIONS, Capabilities, Runtime, RuntimeInfo
from stylecast.runtime.registry import AUTO_ORDER, RUNTIMES, describe_runtimes, open_runtime

__all__ = [
    "AUTO_ORDER", "PRECISIONS", "RUNTIMES", "Capabilities", "Runtime", "RuntimeInfo",
    "describe_runtimes", "open_runtime",
]
