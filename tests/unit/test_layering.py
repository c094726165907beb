"""Imports point down the pipeline only: loaders -> shapes -> rules -> reporters, engine on top.

Like import-linter's "forbidden" contracts, read from the source with ``ast`` (nothing is
imported), lazy imports inside functions and ``TYPE_CHECKING`` blocks included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "graphcheck"
STAGES = ("graphcheck.loaders", "graphcheck.shapes", "graphcheck.rules", "graphcheck.reporters",
          "graphcheck.engine")
# Modules (or packages) and the modules they must not import, any submodule included.
CONTRACTS: dict[str, tuple[str, ...]] = {
    # The shared types sit below every stage.
    "graphcheck.graph": STAGES,
    "graphcheck.findings": STAGES,
    "graphcheck.recurrent_facts": STAGES,
    "graphcheck.op_layers": STAGES,
    "graphcheck.loaders": ("graphcheck.shapes", "graphcheck.rules", "graphcheck.reporters",
                           "graphcheck.engine"),
    "graphcheck.shapes": ("graphcheck.loaders", "graphcheck.rules", "graphcheck.reporters",
                          "graphcheck.engine"),
    "graphcheck.rules": ("graphcheck.loaders", "graphcheck.reporters", "graphcheck.engine"),
    "graphcheck.reporters": ("graphcheck.engine",),
}
# (importer, imported) pairs allowed despite a contract, each with its reason.
KNOWN_EXCEPTIONS = {
    # unsafe-code describes a Lambda's bytecode with the bounded marshal reader; the loaders use
    # the same reader for Lambdas in configs, and moving it is a change of its own.
    ("graphcheck.rules.loading", "graphcheck.loaders.marshal_reader"),
}


def module_name(path: Path) -> str:
    """Return the dotted module name of a file under graphcheck/."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(source: str, module: str, is_package: bool = False) -> set[str]:
    """Return every module a source imports, relative imports resolved against ``module``."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            if (PACKAGE.parent / base.replace(".", "/")).is_dir():
                # `from graphcheck import loaders` imports the submodule graphcheck.loaders.
                found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def breaks(importer: str, target: str) -> bool:
    """Return True when ``importer`` may not import ``target`` under CONTRACTS."""
    for owner, forbidden in CONTRACTS.items():
        if importer == owner or importer.startswith(owner + "."):
            return any(target == f or target.startswith(f + ".") for f in forbidden)
    return False


def violations() -> set[tuple[str, str]]:
    """Return every (importer, imported) pair in graphcheck/ that breaks a contract."""
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        for target in imported(path.read_text(encoding="utf-8"), module,
                               path.name == "__init__.py"):
            if breaks(module, target):
                found.add((module, target))
    return found


def test_no_import_points_back_up_the_pipeline() -> None:
    """shapes/ never imports loaders, rules never loaders or reporters, reporters never the engine."""
    assert violations() - KNOWN_EXCEPTIONS == set()


def test_every_known_exception_is_still_needed() -> None:
    """An exception whose import is gone is removed from the list, so it cannot hide a new one."""
    assert KNOWN_EXCEPTIONS - violations() == set()


@pytest.mark.parametrize(("module", "source", "bad"), [
    ("graphcheck.shapes.onnx.recurrent", "from graphcheck.loaders.onnx_graph import X",
     "graphcheck.loaders.onnx_graph"),
    ("graphcheck.shapes.keras.ops", "def f():\n    from ...loaders import keras_nodes",
     "graphcheck.loaders.keras_nodes"),
    ("graphcheck.rules.onnx", "import graphcheck.engine", "graphcheck.engine"),
    ("graphcheck.reporters.json", "from graphcheck import engine", "graphcheck.engine"),
    ("graphcheck.recurrent_facts", "from graphcheck.shapes import Call", "graphcheck.shapes"),
])
def test_the_checker_sees_each_form_of_import(module: str, source: str, bad: str) -> None:
    """Absolute, relative, lazy and package-attribute imports are all caught."""
    assert bad in imported(source, module)
    assert breaks(module, bad)


def test_imports_down_the_pipeline_are_allowed() -> None:
    """Rules may read shapes, reporters may read rules, everything may read the shared types."""
    assert not breaks("graphcheck.rules.onnx", "graphcheck.shapes.onnx.recurrent")
    assert not breaks("graphcheck.reporters.sarif", "graphcheck.rules.registry")
    assert not breaks("graphcheck.shapes.keras.recurrent", "graphcheck.recurrent_facts")
