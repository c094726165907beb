"""Builders for the small model configs that rules carry as VALID/INVALID cases."""

from __future__ import annotations

from typing import Any


def layer(class_name: str, name: str, **config: Any) -> dict[str, Any]:
    """Return a layer entry as Keras 3 writes it in config.json."""
    return {"class_name": class_name, "config": {"name": name, **config}}


def lstm(name: str, units: int, **config: Any) -> dict[str, Any]:
    """Return an LSTM layer entry."""
    return layer("LSTM", name, units=units, **config)


def sequential(input_shape: list[int | None], *layers: dict[str, Any]) -> dict[str, Any]:
    """Return a Sequential model config whose first entry is an InputLayer."""
    entries = [layer("InputLayer", "input", batch_shape=input_shape), *layers]
    return {"class_name": "Sequential", "config": {"name": "case", "layers": entries}}
