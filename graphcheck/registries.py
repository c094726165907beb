"""Tables keyed by (framework, layer type): shape functions and explanations register the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., object])


def registrar(table: dict[tuple[str, str], F]) -> Callable[..., Callable[[F], F]]:
    """Return a ``register(framework, *types)`` decorator that fills ``table``."""

    def register(framework: str, *types: str) -> Callable[[F], F]:
        """Record the decorated function under every (framework, type) and return it unchanged."""

        def decorate(fn: F) -> F:
            """Fill the table for each type."""
            for type_ in types:
                table[(framework, type_)] = fn
            return fn

        return decorate

    return register
