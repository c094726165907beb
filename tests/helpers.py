"""Shared test helpers: the rule-case runner is graphcheck.testing.run_case."""

from __future__ import annotations

from graphcheck.testing import run_case

__all__ = ["run_case"]
