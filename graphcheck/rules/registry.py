"""Discover rules through the ``graphcheck.rules`` entry point group, built-ins included."""

from __future__ import annotations

import inspect
from functools import cache
from types import ModuleType

from graphcheck.plugins import entry_points_in, load
from graphcheck.rules import Rule


def _rules_in(target: object) -> list[type[Rule]]:
    """Return the Rule subclasses an entry point names: a module of rules or one class."""
    if isinstance(target, type) and issubclass(target, Rule):
        return [target]
    if isinstance(target, ModuleType):
        return [obj for _, obj in inspect.getmembers(target, inspect.isclass)
                if issubclass(obj, Rule) and obj.__module__ == target.__name__
                and "code" in obj.__dict__]
    return []


@cache
def all_rules() -> tuple[type[Rule], ...]:
    """Return every registered rule, sorted by code; duplicate codes or names are an error."""
    found: dict[str, type[Rule]] = {}
    names: set[str] = set()
    for point in entry_points_in("graphcheck.rules"):
        target = load(point, lambda t: bool(_rules_in(t)), "a Rule subclass or a module of rules")
        for rule in _rules_in(target):
            if rule.code in found or rule.name in names:
                raise RuntimeError(f"rule {rule.code} {rule.name} is registered twice")
            found[rule.code] = rule
            names.add(rule.name)
    return tuple(found[code] for code in sorted(found))


def find_rule(key: str) -> type[Rule] | None:
    """Look a rule up by code (case-insensitive) or kebab-case name."""
    for rule in all_rules():
        if key.upper() == rule.code or key == rule.name:
            return rule
    return None
