"""graphcheck: a static analyzer for saved neural-network models.

The public API (``docs/api.md``) is imported on first use, so ``import graphcheck`` stays
cheap and imports no framework: ``graphcheck.check``, ``check_model``, ``explain``,
``explain_model``, ``diff``, ``Report``, ``ModelReport``, ``DiffReport``, ``DiffError``,
``Finding``, ``Severity``, ``ConfigError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from graphcheck.api import Report, check, check_model, diff, explain, explain_model
    from graphcheck.compare import DiffError
    from graphcheck.compare.report import DiffReport
    from graphcheck.config import ConfigError
    from graphcheck.explanations.report import ModelReport
    from graphcheck.findings import Finding, Severity

# Public name -> the module defining it (imported when the name is first used).
EXPORTS = {
    "check": "graphcheck.api", "check_model": "graphcheck.api", "explain": "graphcheck.api",
    "explain_model": "graphcheck.api", "Report": "graphcheck.api",
    "ModelReport": "graphcheck.explanations.report", "Finding": "graphcheck.findings",
    "Severity": "graphcheck.findings", "ConfigError": "graphcheck.config",
    "diff": "graphcheck.api", "DiffReport": "graphcheck.compare.report",
    "DiffError": "graphcheck.compare",
}
__all__ = ["ConfigError", "DiffError", "DiffReport", "Finding", "ModelReport", "Report", "Severity",
           "__version__", "check", "check_model", "diff", "explain", "explain_model"]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    module = EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'graphcheck' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    """List the public names with the module's own."""
    return sorted({*globals(), *EXPORTS})
