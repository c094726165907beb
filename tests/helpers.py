"""Shared test helpers: the rule-case runner lives with the cases, in graphcheck.rules.cases."""

from __future__ import annotations

from graphcheck.rules.cases import run_case

__all__ = ["run_case"]
