"""Builders for the small models that rules carry as VALID/INVALID cases, and the case runner.

``run_case`` is what ``tests/unit/test_rule_cases.py`` runs every case with, and what
``graphcheck rules --format markdown`` runs the INVALID cases with to print real messages.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from graphcheck.graph import Model, StoredWeight

if TYPE_CHECKING:
    from graphcheck.loaders.keras_config import WeightSource
    from graphcheck.results import FileResult
    from graphcheck.rules import Case


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


class DictWeights:
    """A weight source from ``{layer name: {path: shape}}``, as a rule case writes it."""

    match: Literal["path", "order"] = "path"

    def __init__(self, table: Mapping[str, Mapping[str, tuple[int, ...]]] | None) -> None:
        """Keep the table; None means the model has no weights at all."""
        self.table = table

    def container(self, name: str, class_name: str) -> WeightSource:
        """Nested models share the same table (names are unique)."""
        return self

    def weights(self, name: str, class_name: str) -> tuple[StoredWeight, ...] | None:
        """Return the layer's weights from the table."""
        if self.table is None:
            return None
        return tuple(StoredWeight(key=k, shape=s) for k, s in self.table.get(name, {}).items())


def model_of(case: Case) -> Model:
    """Build the Model a rule case describes (an ONNX case is a spec built with onnx.helper)."""
    from graphcheck.loaders.keras_config import build_model

    if "onnx" in case.model:
        from graphcheck.loaders.onnx_loader import model_from_proto
        from graphcheck.rules.onnx import case_model

        return model_from_proto(case_model(case.model), "case.onnx")
    root = build_model(case.model, DictWeights(case.weights), "case")
    return Model(path="case.keras", format="keras", root=root, has_weights=case.weights is not None)


def run_case(case: Case, rule_name: str | None = None) -> FileResult:
    """Analyse a case, with only ``rule_name`` enabled when given; a file case is checked on disk."""
    from graphcheck.engine import analyse, check_path
    from graphcheck.settings import Selection, Settings

    settings = Settings(selection=Selection.only(rule_name)) if rule_name else Settings()
    if case.file is None:
        return analyse(model_of(case), "case.keras", settings)
    with tempfile.TemporaryDirectory() as folder:
        path = case.file(Path(folder))
        return check_path(path, path.name, settings)
