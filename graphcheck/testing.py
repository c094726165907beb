"""The plugin author's kit: run a rule's cases, build small models, check them, assert findings.

Everything in ``__all__`` is public and stable (see docs/plugins.md, "Versioning"). Importing
this module imports neither a framework nor graphcheck's loaders; ONNX models are built with
``onnx.helper`` only when asked for. ``tests/unit/test_rule_cases.py`` runs every registered
rule's cases through ``assert_rule_cases``'s pieces, so a plugin's tests and graphcheck's own
hold a rule to the same contract.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from graphcheck.findings import Finding
from graphcheck.graph import Model, StoredWeight
from graphcheck.rules.cases import built, called, dense, layer, lstm, seq2seq, sequential, tensor

if TYPE_CHECKING:
    from graphcheck.loaders.keras_config import WeightSource
    from graphcheck.results import FileResult
    from graphcheck.rules import Case, Rule

__all__ = [
    "DictWeights",
    "assert_case_contract",
    "assert_findings",
    "assert_invalid_case",
    "assert_registered",
    "assert_rule_cases",
    "assert_valid_case",
    "built",
    "called",
    "check_config",
    "dense",
    "layer",
    "lstm",
    "model_of",
    "onnx_lstm",
    "run_case",
    "seq2seq",
    "sequential",
    "tensor",
]

WeightTable = Mapping[str, Mapping[str, tuple[int, ...]]]


class DictWeights:
    """A weight source from ``{layer name: {path: shape}}``, as a rule case writes it."""

    match: Literal["path", "order"] = "path"

    def __init__(self, table: WeightTable | None) -> None:
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


def _keras_model(config: Mapping[str, Any], weights: WeightTable | None) -> Model:
    """Build the Model of a Keras config dict, with stored weight shapes from a table."""
    from graphcheck.loaders.keras_config import build_model

    root = build_model(config, DictWeights(weights), "case")
    return Model(path="case.keras", format="keras", root=root, has_weights=weights is not None)


def _onnx_model(proto: Any) -> Model:
    """Build the Model of an ``onnx.ModelProto``, read as the ONNX loader reads a file."""
    from graphcheck.loaders.onnx_loader import model_from_proto

    return model_from_proto(proto, "case.onnx")


def model_of(case: Case) -> Model:
    """Build the Model a rule case describes (an ONNX case is a spec built with onnx.helper)."""
    if "onnx" in case.model:
        from graphcheck.rules.onnx import case_model

        return _onnx_model(case_model(case.model))
    return _keras_model(case.model, case.weights)


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


def _listing(findings: Iterable[Finding]) -> str:
    """Return findings one per line, as the text reporter writes them, for assertion messages."""
    from graphcheck.reporters.text import line

    shown = [f"  {line(f, color=False)}" for f in findings]
    return "\n".join(shown) if shown else "  (no findings)"


def assert_case_contract(rule: type[Rule]) -> None:
    """Fail unless the rule has VALID and INVALID cases and each INVALID case checks message text."""
    from graphcheck.rules.export import PairRule

    if issubclass(rule, PairRule):  # its cases are model pairs, run by graphcheck diff's tests
        assert rule.PAIR_VALID and rule.PAIR_INVALID, f"{rule.code} {rule.name} lacks VALID or INVALID pairs"
        return
    assert rule.VALID, f"{rule.code} {rule.name} has no VALID case"
    assert rule.INVALID, f"{rule.code} {rule.name} has no INVALID case"
    for index, case in enumerate(rule.INVALID):
        assert case.contains, (f"{rule.code} {rule.name}: INVALID[{index}] checks no message "
                               "text (set Case(contains=...))")


def assert_registered(rule: type[Rule]) -> None:
    """Fail unless ``rule`` is the registered rule of its name (else its cases would never run)."""
    from graphcheck.rules.registry import find_rule

    assert find_rule(rule.name) is rule, (
        f"{rule.code} {rule.name} is not a registered rule, so graphcheck never runs it: list its "
        "module under [project.entry-points.\"graphcheck.rules\"] and install the package "
        "(pip install -e .)")


def assert_valid_case(rule: type[Rule], case: Case, label: str = "VALID") -> None:
    """Fail when a VALID case gets a finding from its rule (only that rule runs)."""
    assert_registered(rule)
    result = run_case(case, rule.name)
    hits = [f for f in result.findings if f.rule == rule.name]
    assert not hits, f"{rule.code} {rule.name}: {label} case got findings:\n{_listing(hits)}"


def assert_invalid_case(rule: type[Rule], case: Case, label: str = "INVALID") -> None:
    """Fail unless an INVALID case gets its rule's findings on exactly its nodes, worded as it says."""
    assert_registered(rule)
    result = run_case(case)
    where = f"{rule.code} {rule.name}: {label} case"
    crashes = [f for f in result.findings if f.rule == "internal-error"]
    # A template naming a field the hit lacks raises KeyError, which is an internal-error.
    assert not crashes, f"{where} crashed:\n{_listing(crashes)}\n{crashes[0].detail or ''}"
    hits = [f for f in result.findings if f.rule == rule.name]
    found, wanted = sorted(f.node or "" for f in hits), sorted(n or "" for n in case.nodes)
    assert found == wanted, (f"{where} expected hits on nodes {wanted}, got {found}; all "
                             f"findings:\n{_listing(result.findings)}")
    assert case.contains, f"{where} checks no message text (set Case(contains=...))"
    wrong = [f for f in hits if case.contains not in f.message]
    assert not wrong, f"{where} expected every message to contain {case.contains!r}:\n{_listing(wrong)}"


def assert_rule_cases(rule: type[Rule]) -> None:
    """Check the case contract, then run every VALID and INVALID case of ``rule``."""
    assert_case_contract(rule)
    for index, case in enumerate(rule.VALID):
        assert_valid_case(rule, case, f"VALID[{index}]")
    for index, case in enumerate(rule.INVALID):
        assert_invalid_case(rule, case, f"INVALID[{index}]")


def check_config(model: Mapping[str, Any] | Any, weights: WeightTable | None = None,
                 select: Sequence[str] | None = None,
                 options: Mapping[str, Mapping[str, Any]] | None = None) -> list[Finding]:
    """Analyse a Keras config dict (or an ``onnx.ModelProto``) and return its findings.

    ``weights`` gives stored weight shapes as ``{layer: {path: shape}}`` (None: no weights);
    ``select`` names rules by code, code prefix or name (default: all); ``options`` are rule
    options by rule name, as ``[tool.graphcheck.rules.<name>]`` would give them.
    """
    from graphcheck.engine import analyse
    from graphcheck.settings import Selection, Settings

    built_model = _keras_model(model, weights) if isinstance(model, Mapping) else _onnx_model(model)
    settings = Settings(selection=Selection(select=tuple(select or ("ALL",))),
                        options=dict(options or {}))
    return analyse(built_model, built_model.path, settings).findings


def assert_findings(findings: Sequence[Finding], expected: Mapping[str, int], *,
                    exact: bool = False) -> None:
    """Fail unless each rule (by code or name) has the expected number of findings.

    With ``exact``, findings of rules ``expected`` does not name fail too.
    """
    counts: Counter[str] = Counter()
    for found in findings:
        counts[found.code] += 1
        counts[found.rule] += 1
    wrong = {key: counts[key] for key, count in expected.items() if counts[key] != count}
    named = set(expected)
    others = [f for f in findings if exact and f.code not in named and f.rule not in named]
    assert not wrong and not others, (
        f"expected {dict(expected)}, got {wrong or {}}"
        + (" and findings of other rules" if others else "")
        + f"; all findings:\n{_listing(findings)}")


def onnx_lstm(hidden_size: int = 32, *, timesteps: int | str = 10, batch: int | str = 3,
              features: int = 64, op: str = "LSTM", direction: str = "forward",
              opset: int = 14, **shapes: list[int] | None) -> Any:
    """Return an ``onnx.ModelProto`` with one recurrent node ``rnn`` (LSTM, GRU or RNN) fed ``X``.

    W, R and B get the shapes the operator implies; pass ``W=[...]`` (or R, B, initial_h, ...)
    to give an initializer another shape, or ``None`` to leave it out.
    """
    from graphcheck.recurrent_facts import ONNX_OPS
    from graphcheck.rules.onnx import case_model

    gates = ONNX_OPS[op].gates
    dirs = 2 if direction == "bidirectional" else 1
    spec: dict[str, Any] = {"onnx": op, "X": [timesteps, batch, features], "hidden_size": hidden_size,
                            "direction": direction, "opset": opset,
                            "W": [dirs, gates * hidden_size, features],
                            "R": [dirs, gates * hidden_size, hidden_size],
                            "B": [dirs, 2 * gates * hidden_size]}
    spec.update(shapes)
    return case_model({key: value for key, value in spec.items() if value is not None})
