"""Builders for the small Keras configs that rules carry as VALID/INVALID cases.

Plain dictionaries, so rule modules can hold their cases without importing a loader; the
runner that analyses a case is ``graphcheck.testing.run_case``.
"""

from __future__ import annotations

from typing import Any


def layer(class_name: str, name: str, **config: Any) -> dict[str, Any]:
    """Return a layer entry as Keras 3 writes it in config.json."""
    return {"class_name": class_name, "config": {"name": name, **config}}


def lstm(name: str, units: int, **config: Any) -> dict[str, Any]:
    """Return an LSTM layer entry."""
    return layer("LSTM", name, units=units, **config)


def dense(name: str, units: int) -> dict[str, Any]:
    """Return a Dense layer entry."""
    return layer("Dense", name, units=units)


def sequential(input_shape: list[int | None], *layers: dict[str, Any]) -> dict[str, Any]:
    """Return a Sequential model config whose first entry is an InputLayer."""
    entries = [layer("InputLayer", "input", batch_shape=input_shape), *layers]
    return {"class_name": "Sequential", "config": {"name": "case", "layers": entries}}


def built(entry: dict[str, Any], input_shape: list[int | None]) -> dict[str, Any]:
    """Return a layer entry with the ``build_config`` input shape Keras 3 records when saving."""
    return {**entry, "build_config": {"input_shape": input_shape}}


def tensor(layer_name: str, index: int = 0) -> dict[str, Any]:
    """Return a Keras 3 ``__keras_tensor__`` reference to a layer's output."""
    return {"class_name": "__keras_tensor__", "config": {"keras_history": [layer_name, 0, index]}}


def called(entry: dict[str, Any], *args: str, **kwargs: Any) -> dict[str, Any]:
    """Attach a Keras 3 inbound node (positional inputs by layer name) to a layer entry."""
    return {**entry, "name": entry["config"]["name"],
            "inbound_nodes": [{"args": [tensor(a) for a in args], "kwargs": kwargs}]}


def seq2seq(state_given: bool, decoder_units: int = 16) -> dict[str, Any]:
    """Return the keras.io teacher-forcing model: encoder LSTM(16) states initialise the decoder."""
    states = {"initial_state": [tensor("enc", 1), tensor("enc", 2)]} if state_given else {}
    entries = [called(layer("InputLayer", "src", batch_shape=[None, None, 8])),
               called(layer("InputLayer", "tgt", batch_shape=[None, None, 9])),
               called(lstm("enc", 16, return_state=True), "src"),
               called(lstm("dec", decoder_units, return_sequences=True), "tgt", **states),
               called(dense("dense", 9), "dec")]
    return {"class_name": "Functional", "config": {
        "name": "seq2seq", "layers": entries, "input_layers": [["src", 0, 0], ["tgt", 0, 0]],
        "output_layers": [["dense", 0, 0]]}}
