"""What ``graphcheck explain`` knows about a model, as plain data every renderer can draw.

Named ``explanations`` rather than ``explain`` so that the public function
``graphcheck.explain`` is never shadowed by importing this package.

Explanations are registered like shape functions: ``register(framework, *types)`` maps a
layer class (or ONNX operator) to a function that explains it, and ``count_params`` gives a
framework its own way of counting parameters. ``build.build`` looks both up; it never asks
which framework it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from graphcheck.explanations.report import Cell
from graphcheck.registries import registrar

if TYPE_CHECKING:  # views imports this package for the registry
    from graphcheck.explanations.views import NodeView
    from graphcheck.shapes.propagate import NodeResult


@dataclass(frozen=True, kw_only=True)
class Explained:
    """What an explanation function says about one layer: its story and its cells."""

    story: tuple[str, ...] = ()
    cells: tuple[Cell, ...] = ()
    merge_mode: str | None = None


@dataclass(frozen=True, kw_only=True)
class Counting:
    """A framework's own parameter count: per node, and for the whole model."""

    node: Callable[[NodeResult], int | None]
    model: Callable[[Sequence[NodeView]], int | None]


Explanation = Callable[["NodeView"], Explained]

# Filled by graphcheck.explanations.keras and .onnx through ``register`` and ``count_params``.
EXPLANATIONS: dict[tuple[str, str], Explanation] = {}
COUNTINGS: dict[str, Counting] = {}


# ``@register(framework, *types)`` records an explanation for one or more layer classes / op types.
register = registrar(EXPLANATIONS)


def count_params(framework: str, counting: Counting) -> None:
    """Give a framework its own parameter count (by default: the weights each layer holds)."""
    COUNTINGS[framework] = counting


def import_explanations() -> None:
    """Register the built-in explanations (kept out of module import for fast --help)."""
    import graphcheck.explanations.keras
    import graphcheck.explanations.onnx  # noqa: F401
