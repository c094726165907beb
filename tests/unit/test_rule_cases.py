"""Every rule's own VALID and INVALID cases, run by one parametrized test (Fixit's way)."""

from __future__ import annotations

import pytest

from graphcheck.rules import Case, Rule
from graphcheck.rules.registry import all_rules
from tests.helpers import run_case


def _cases(kind: str) -> list[tuple[type[Rule], Case]]:
    """Collect (rule, case) pairs of one kind across all registered rules."""
    return [(rule, case) for rule in all_rules() for case in getattr(rule, kind)]


def _id(item: object) -> str:
    """Name a parameter by its rule."""
    return item.name if isinstance(item, type) and issubclass(item, Rule) else ""


@pytest.mark.parametrize(("rule", "case"), _cases("VALID"), ids=_id)
def test_valid_case_is_silent(rule: type[Rule], case: Case) -> None:
    """A VALID case gets no finding from its rule."""
    result = run_case(case, rule.name)
    assert [f for f in result.findings if f.rule == rule.name] == []


@pytest.mark.parametrize(("rule", "case"), _cases("INVALID"), ids=_id)
def test_invalid_case_fires_on_its_nodes(rule: type[Rule], case: Case) -> None:
    """An INVALID case gets its rule's findings on exactly the listed nodes."""
    result = run_case(case)
    hits = [f for f in result.findings if f.rule == rule.name]
    assert sorted(f.node or "" for f in hits) == sorted(case.nodes)
    assert all(case.contains in f.message for f in hits)


def test_every_rule_is_documented_and_has_cases() -> None:
    """Each rule has a code, a kebab-case name, all four doc sections, and cases to prove it."""
    names = set()
    for rule in all_rules():
        assert rule.name == rule.name.lower() and " " not in rule.name and "_" not in rule.name
        assert all(getattr(rule, part).strip() for part in ("what", "why", "example", "fix"))
        names.add(rule.name)
        assert "## How to fix" in rule.documentation()
    assert {"unreadable-model", "weight-shape-mismatch", "units-equal-timesteps"} <= names
