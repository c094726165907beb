"""Oracle helpers: read per-layer shapes and parameter counts from Keras and from graphcheck."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphcheck.engine import check_path
from graphcheck.explanations.views import nodes
from graphcheck.findings import Severity
from graphcheck.shapes.dims import product

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# On a valid model no error may appear, nor these warnings/notes: each one means graphcheck
# misread the model (design advice such as sequence-into-dense may legitimately fire).
NEVER_ON_VALID = frozenset({"unexpected-weights", "unsupported-layer", "internal-error",
                            "unsafe-code"})

Shapes = list[tuple[Any, ...]]


@dataclass(frozen=True, kw_only=True)
class Row:
    """One layer as seen by Keras or by graphcheck."""

    outputs: Shapes
    params: int | None
    spec_params: int | None = None


def _dims(shape: Any) -> tuple[Any, ...]:
    """Turn a Keras 3 tuple or a TF TensorShape into a tuple of int/None."""
    if hasattr(shape, "as_list"):
        shape = shape.as_list()
    return tuple(None if d is None else int(d) for d in shape)


def _flat(value: Any) -> list[Any]:
    """Flatten nested lists/tuples/dicts of tensors."""
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _flat(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _flat(item)]
    return [value]


def _first_outputs(layer: Any) -> Shapes:
    """Return the output shapes of a layer's first call (Keras 3 and tf_keras alike)."""
    nodes = getattr(layer, "_inbound_nodes", None) or layer.inbound_nodes
    node = nodes[0]
    tensors = node.output_tensors if hasattr(node, "output_tensors") else node.outputs
    return [_dims(t.shape) for t in _flat(tensors)]


def keras_rows(model: Any, prefix: str = "") -> Iterator[tuple[str, Row]]:
    """Yield (qualified name, Row) for every layer Keras lists, nested models' layers included."""
    for layer in model.layers:
        name = prefix + layer.name
        yield name, Row(outputs=_first_outputs(layer), params=int(layer.count_params()))
        if hasattr(layer, "layers") and type(layer).__name__ in ("Functional", "Sequential", "Model"):
            yield from keras_rows(layer, name + "/")


@dataclass(frozen=True, kw_only=True)
class Analysis:
    """What graphcheck reports for one saved file."""

    rows: dict[str, Row]
    bad: list[str]


def analyse(path: Path) -> Analysis:
    """Run graphcheck on a saved model and tabulate its per-layer view."""
    result = check_path(path, str(path))
    bad = [f"{f.severity} {f.rule} {f.node}: {f.message}" for f in result.findings
           if f.severity >= Severity.ERROR or f.rule in NEVER_ON_VALID]
    rows: dict[str, Row] = {}
    if result.model is not None and result.inference is not None:
        for view in nodes(result.model, result.inference):
            # One logical name is one variable, even when stored twice (SpectralNormalization).
            specs = list({s.name: product(s.shape) for s in view.specs}.values())
            spec_params = sum(specs) if all(isinstance(p, int) for p in specs) else None  # type: ignore[misc]
            rows[view.name] = Row(outputs=[s if s is None else tuple(s) for s in view.output_shapes],
                                  params=view.params,
                                  spec_params=spec_params if view.node.layer.subgraph is None else None)
    return Analysis(rows=rows, bad=bad)


def mismatches(expected: dict[str, Row], analysis: Analysis, skip: frozenset[str] = frozenset()
               ) -> list[str]:
    """List every layer whose graphcheck shapes or parameters differ from Keras's."""
    problems = list(analysis.bad)
    for name, want in expected.items():
        got = analysis.rows.get(name)
        if got is None:
            problems.append(f"{name}: graphcheck has no such layer ({sorted(analysis.rows)})")
            continue
        if name not in skip and got.outputs != want.outputs:
            problems.append(f"{name}: outputs {got.outputs} != keras {want.outputs}")
        if got.params != want.params:
            problems.append(f"{name}: params {got.params} != keras {want.params}")
        if got.spec_params is not None and got.spec_params != want.params:
            problems.append(f"{name}: weights implied by config hold {got.spec_params} "
                            f"params, keras counts {want.params}")
    return problems


def save(net: Any, folder: Path, fmt: str) -> Path:
    """Save a model as .keras, legacy .h5 or architecture-only JSON."""
    path = folder / f"model.{fmt}"
    if fmt == "json":
        path.write_text(net.to_json())
    else:
        net.save(path)
    return path
