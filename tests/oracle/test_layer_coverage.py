"""The layer coverage table in docs/compatibility.md is complete, current and true to the registry."""

from __future__ import annotations

import pytest

import graphcheck.shapes.keras  # noqa: F401  (registers the shape functions)
from graphcheck.shapes import SHAPE_FUNCTIONS
from tests import layer_coverage


def _rows() -> list[list[str]]:
    """Return the committed table's rows as cells (class, other names, keras, tf_keras, status)."""
    lines = [line for line in layer_coverage.committed().splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[1:]]


def test_table_is_committed() -> None:
    """The document has the table between its markers, and no row lacks an explanation."""
    rows = _rows()
    assert len(rows) > 150
    assert not [r[0] for r in rows if "NO ENTRY" in r[4]]


def test_supported_rows_have_shape_functions() -> None:
    """A row says supported exactly when one of the class's names has a shape function."""
    wrong = []
    for name, others, _, _, status in _rows():
        names = {name, *(n.strip() for n in others.split(",") if n.strip())}
        registered = any(("keras", n) in SHAPE_FUNCTIONS for n in names)
        if registered != status.startswith(("supported", "described")):
            wrong.append(f"{name}: registered={registered}, table says {status!r}")
    assert wrong == []


@pytest.mark.oracle
def test_table_covers_every_public_class_and_is_current() -> None:
    """Every public layer class of the pinned Keras and tf_keras has a row; the table is fresh."""
    entries = layer_coverage.entries()
    unexplained = [e.name for e in entries if "NO ENTRY" in layer_coverage.status(e)]
    assert unexplained == []
    assert layer_coverage.render(entries) == layer_coverage.committed(), (
        "docs/compatibility.md is stale: run `python -m tests.layer_coverage`")


def _hub_rows() -> list[list[str]]:
    """Return the committed keras_hub table's rows as cells (class, registered name, keras_hub, status)."""
    lines = [line for line in layer_coverage.committed(layer_coverage.HUB_MARKERS).splitlines()
             if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[1:]]


def test_hub_table_is_committed_and_true_to_the_registry() -> None:
    """Every keras_hub row is explained, and says supported exactly when its name has a function."""
    rows = _hub_rows()
    assert len(rows) > 50
    assert not [r[0] for r in rows if "NO ENTRY" in r[3]]
    wrong = [f"{name}: table says {status!r}" for name, registered, _, status in rows
             if (("keras", registered) in SHAPE_FUNCTIONS) != status.startswith("supported")]
    assert wrong == []


@pytest.mark.oracle
def test_hub_table_covers_every_keras_hub_class_and_is_current() -> None:
    """Every layer class of the pinned keras_hub has a row, and the table is fresh."""
    rows = layer_coverage.hub_entries()
    assert [e.name for e in rows if "NO ENTRY" in layer_coverage.hub_status(e)] == []
    assert layer_coverage.render_hub(rows) == layer_coverage.committed(layer_coverage.HUB_MARKERS), (
        "docs/compatibility.md is stale: run `python -m tests.layer_coverage`")
