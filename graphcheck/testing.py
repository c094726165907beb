"""Helpers for testing rules and plugins: build a rule case's model and analyse it.

``run_case`` is what ``tests/unit/test_rule_cases.py`` runs every case with, and what
``graphcheck rules --format markdown`` runs the INVALID cases with to print real messages.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from graphcheck.graph import Model, StoredWeight

if TYPE_CHECKING:
    from graphcheck.loaders.keras_config import WeightSource
    from graphcheck.results import FileResult
    from graphcheck.rules import Case


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
