"""Entry points of the installed packages, scanned once for loaders, rules and reporters alike."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint


@cache
def _installed() -> Any:
    """Read every installed package's entry points once (each scan reads all their metadata)."""
    from importlib.metadata import entry_points

    # Python 3.11 returns SelectableGroups, 3.12 EntryPoints: both offer select(group=...).
    return entry_points()


def entry_points_in(group: str) -> tuple[EntryPoint, ...]:
    """Return the entry points registered in ``group``, sorted by name."""
    return tuple(sorted(_installed().select(group=group), key=lambda point: point.name))
