"""stylecast: live neural style transfer for streamers, video calls and live performance."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
