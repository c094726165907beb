"""Stages name rules through RuleName: a typo fails at once, and every name is a real rule."""

from __future__ import annotations

import pytest

from graphcheck.findings import LoadError, Problem, ShapeError
from graphcheck.rule_names import RuleName
from graphcheck.rules import ProblemRule
from graphcheck.rules.registry import all_rules


def test_every_rule_name_is_a_registered_rule() -> None:
    """A constant that names no rule would turn its problems into nothing."""
    registered = {rule.name for rule in all_rules()}
    assert {name.value for name in RuleName} <= registered


def test_every_problem_rule_is_named_by_a_constant() -> None:
    """A ProblemRule whose name no stage can raise would never fire."""
    for rule in all_rules():
        if issubclass(rule, ProblemRule):
            assert RuleName(rule.name).value == rule.name


def test_a_problem_rule_with_an_unknown_name_fails_at_class_creation() -> None:
    """The check runs when the class is defined, not when a model happens to need it."""
    with pytest.raises(TypeError, match="input-dim-missmatch"):
        type("Typo", (ProblemRule,), {"name": "input-dim-missmatch", "code": "GC999"})


@pytest.mark.parametrize("make", [
    lambda: ShapeError("input-dim-missmatch", "x"),  # type: ignore[arg-type]
    lambda: LoadError("x", rule="lfs-pionter"),  # type: ignore[arg-type]
    lambda: Problem(rule="internal-eror", node=None, message="x"),  # type: ignore[arg-type]
])
def test_an_unknown_rule_name_in_a_stage_raises(make: object) -> None:
    """The free string a stage used to pass silently yielded no finding; now it raises."""
    with pytest.raises(ValueError, match="is not a valid RuleName"):
        make()  # type: ignore[operator]


def test_a_known_name_given_as_a_string_is_the_constant() -> None:
    """Plugins may still pass the kebab-case string; it becomes the constant."""
    assert ShapeError("input-dim-mismatch", "x").rule is RuleName.INPUT_DIM_MISMATCH  # type: ignore[arg-type]
    assert f"{RuleName.LFS_POINTER}" == str(RuleName.LFS_POINTER) == "lfs-pointer"
