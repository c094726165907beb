"""graphcheck: a static analyzer for saved neural-network models."""

from __future__ import annotations

__version__ = "0.1.0"
