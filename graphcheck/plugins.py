"""Entry points of the installed packages, scanned once for loaders, rules and reporters alike.

A plugin that cannot be loaded (its import raises, or it names something that is not a loader,
a rule or a reporter) raises ``PluginError`` naming the entry point and its distribution, as
flake8's ``FailedToLoadPlugin`` does; the command line prints it and exits 2.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint


class PluginError(Exception):
    """An installed plugin could not be loaded: a usage problem of the environment, not a bug."""

    def __init__(self, point: EntryPoint, reason: str) -> None:
        super().__init__(f'plugin "{point.name}" ({origin(point)}, entry point {point.value} in '
                         f"{point.group}) could not be loaded: {reason}")
        self.point = point


@cache
def _installed() -> Any:
    """Read every installed package's entry points once (each scan reads all their metadata)."""
    from importlib.metadata import entry_points

    # Python 3.11 returns SelectableGroups, 3.12 EntryPoints: both offer select(group=...).
    return entry_points()


def entry_points_in(group: str) -> tuple[EntryPoint, ...]:
    """Return the entry points registered in ``group``, sorted by name."""
    return tuple(sorted(_installed().select(group=group), key=lambda point: point.name))


def builtin(point: EntryPoint, prefix: str) -> bool:
    """Return True for graphcheck's own entry point (its value starts with ``prefix``).

    Those are imported when a run needs them, only located up front: a missing module is a
    PluginError now, as a plugin's failed import is.
    """
    if not point.value.startswith(prefix):
        return False
    from importlib.util import find_spec

    if find_spec(point.module) is None:
        raise PluginError(point, f"ModuleNotFoundError: no module named {point.module!r}")
    return True


def origin(point: EntryPoint) -> str:
    """Name the distribution that registers an entry point: ``package foo 1.2``."""
    dist = getattr(point, "dist", None)
    if dist is None:
        return "package unknown"
    return f"package {dist.metadata['Name'] or dist.name} {dist.version}"


def load(point: EntryPoint, accepts: Callable[[Any], bool], expected: str) -> Any:
    """Import an entry point's object; raise PluginError unless ``accepts`` it (an ``expected``)."""
    try:
        target = point.load()
    except Exception as error:  # whatever the plugin's import raises, say whose it was
        raise PluginError(point, f"{type(error).__name__}: {error}") from error
    if not accepts(target):
        raise PluginError(point, f"it names {_describe(target)}, not {expected}")
    return target


def _describe(target: object) -> str:
    """Say what an object is in a few words: ``the int 3``, ``the class Foo``."""
    if isinstance(target, type):
        return f"the class {target.__qualname__}"
    return f"{type(target).__name__} {str(target)[:60]!r}"
