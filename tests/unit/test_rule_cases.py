"""Every rule's own VALID and INVALID cases, run by one parametrized test (Fixit's way).

The contract is checked here for every registered rule, plugins included: VALID and INVALID
cases exist, and every INVALID case says which text its message must contain.
"""

from __future__ import annotations

import pytest

from graphcheck.rules import Case, Rule
from graphcheck.rules.registry import all_rules
from tests.helpers import run_case

# Rules that cannot carry a case, each with the reason; keep this tiny.
NO_CASES = {
    # Fires only when graphcheck itself has a bug; a case would need one. Its behaviour (message,
    # traceback kept in `detail`) is tested by tests/unit/test_internal_error.py with a rule that raises.
    "internal-error": "a bug in graphcheck, injected in tests/unit/test_internal_error.py",
}


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
    """An INVALID case gets its rule's findings on exactly the listed nodes, worded as it says."""
    result = run_case(case)
    hits = [f for f in result.findings if f.rule == rule.name]
    assert sorted(f.node or "" for f in hits) == sorted(n or "" for n in case.nodes)
    assert case.contains, f"an INVALID case of {rule.name} checks no message text"
    assert all(case.contains in f.message for f in hits)
    # A template naming a field the hit lacks raises KeyError, which would be an internal-error.
    assert [f.message for f in result.findings if f.rule == "internal-error"] == []


@pytest.mark.parametrize("rule", all_rules(), ids=_id)
def test_every_rule_has_cases_or_a_reason(rule: type[Rule]) -> None:
    """A rule without VALID and INVALID cases fails here, unless NO_CASES says why it cannot."""
    if rule.name in NO_CASES:
        assert not rule.VALID and not rule.INVALID, f"{rule.name} has cases now: drop its exemption"
        return
    assert rule.VALID, f"{rule.name} has no VALID case"
    assert rule.INVALID, f"{rule.name} has no INVALID case"


def test_exemptions_name_registered_rules() -> None:
    """An exemption for a rule that no longer exists is stale."""
    assert set(NO_CASES) <= {rule.name for rule in all_rules()}


def test_every_rule_is_documented() -> None:
    """Each rule has a code, a kebab-case name, all four doc sections and a template."""
    names = set()
    for rule in all_rules():
        assert rule.name == rule.name.lower() and " " not in rule.name and "_" not in rule.name
        assert all(getattr(rule, part).strip() for part in ("what", "why", "example", "fix"))
        assert rule.template.strip()
        names.add(rule.name)
        assert "## How to fix" in rule.documentation()
    assert {"unreadable-model", "weight-shape-mismatch", "units-equal-timesteps"} <= names
