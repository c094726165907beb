"""Rules and shape functions never fail on config values of the wrong type: a finding or silence."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from graphcheck.findings import LoadError
from graphcheck.rules import Case, typed
from graphcheck.rules.cases import layer, lstm, sequential
from graphcheck.rules.registry import all_rules
from tests.helpers import run_case

# One value of each JSON type a hand edit or a bad converter can leave where another is expected.
WRONG_TYPES: tuple[Any, ...] = ("0.5", [None, 1], {"class_name": "x"}, True, None, -1, 1e300)


def keras_cases() -> list[tuple[str, Case]]:
    """Return every rule's Keras INVALID cases (the ones that drive rules deepest), named."""
    return [(f"{rule.name}[{index}]", case) for rule in all_rules()
            for index, case in enumerate(rule.INVALID)
            if case.file is None and "onnx" not in case.model]  # file cases have no config


def positions(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    """Yield the path of every value inside a layer config (wrapped layers' configs included)."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if key != "name":
            yield (*path, key)
            yield from positions(item, (*path, key))


def retyped(model: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield copies of a case model with one layer config value replaced by a wrongly typed one."""
    for index, entry in enumerate(model["config"]["layers"]):
        for path in positions(entry["config"], ()):
            for value in WRONG_TYPES:
                changed = copy.deepcopy(model)
                parent = changed["config"]["layers"][index]["config"]
                for key in path[:-1]:
                    parent = parent[key]
                parent[path[-1]] = value
                yield f"layers[{index}].{'.'.join(map(str, path))}={value!r}", changed


@pytest.mark.parametrize(("name", "case"), keras_cases(), ids=[n for n, _ in keras_cases()])
def test_wrongly_typed_config_values_never_raise(name: str, case: Case) -> None:
    """Every config value of every rule case, retyped: no rule or shape function fails."""
    failures = []
    for edit, model in retyped(dict(case.model)):
        try:
            result = run_case(Case(model=model, weights=case.weights))
        except LoadError:  # the loader's own finding: fine
            continue
        failures += [f"{edit}: {f.message}" for f in result.findings if f.rule == "internal-error"]
    assert not failures


def test_recurrent_dropout_of_the_wrong_type_is_not_compared() -> None:
    """Found by tests/hostile/test_fuzz.py: cudnn-ineligible compared a string recurrent_dropout with 0."""
    for value in ("config", [None] * 3, {"class_name": "__keras_tensor__"}):
        model = sequential([None, 10, 4], lstm("lstm", 8, recurrent_dropout=value))
        assert not [f for f in run_case(Case(model=model)).findings if f.rule == "internal-error"]
    model = sequential([None, 10, 4], lstm("lstm", 8, recurrent_dropout=0.25))
    assert any("recurrent_dropout=0.25" in f.message for f in run_case(Case(model=model)).findings)


def test_layer_without_input_tensor_is_unreadable() -> None:
    """Found by the fuzz test: a layer whose inbound node passes no tensor crashed its shape function."""
    model = {"class_name": "Functional", "config": {
        "name": "f", "input_layers": [["x", 0, 0]], "output_layers": [["d", 0, 0]],
        "layers": [{**layer("InputLayer", "x", batch_shape=[None, 4]), "name": "x", "inbound_nodes": []},
                   {**layer("Dense", "d", units=2), "name": "d",
                    "inbound_nodes": [{"args": [], "kwargs": {}}]}]}}
    findings = run_case(Case(model=model)).findings
    assert not [f for f in findings if f.rule == "internal-error"]
    assert any("receives no input tensor" in f.message for f in findings if f.rule == "unreadable-model")


@pytest.mark.parametrize(("value", "kind", "want"), [
    (3, int, 3), (True, int, None), ("3", int, None), (2, float, 2.0), (0.5, float, 0.5),
    (False, float, None), ([1], float, None), (True, bool, True), (None, str, None), ("x", str, "x"),
])
def test_typed_returns_only_values_of_the_expected_type(value: Any, kind: type, want: Any) -> None:
    """The shared accessor: bools are not numbers, ints are floats, anything else is None."""
    assert typed({"key": value}, "key", kind) == want
    assert typed({}, "key", kind) is None
