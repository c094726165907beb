"""Keras shape functions; importing this package registers all of them."""

from __future__ import annotations

from graphcheck.shapes.keras import core, recurrent  # noqa: F401
