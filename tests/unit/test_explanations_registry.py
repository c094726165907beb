"""The explain package and the reporter registry: complete, acyclic, and loaded only when used."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import graphcheck.explanations
from graphcheck.explanations import EXPLANATIONS, import_explanations
from graphcheck.recurrent_facts import KERAS_CLASSES, ONNX_OPS
from graphcheck.reporters import commands_of, registered, reporters

MODULES = sorted(f"graphcheck.explanations.{m.name}"
                 for m in pkgutil.iter_modules(graphcheck.explanations.__path__))


@pytest.mark.parametrize("module", [*MODULES, "graphcheck.reporters.text", "graphcheck.reporters.json",
                                    "graphcheck.runner"])
def test_each_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    """Imported before anything else of graphcheck, no module meets a half-initialised one."""
    run = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True,
                         check=False)
    assert run.returncode == 0, run.stderr[-2000:]


def test_every_recurrent_class_and_operator_has_an_explanation() -> None:
    """The facts table's Keras layer classes, Bidirectional and ONNX operators are all registered."""
    import_explanations()
    layers = [name for name in KERAS_CLASSES if not name.endswith("Cell")]
    missing = [("keras", name) for name in [*layers, "Bidirectional"]
               if ("keras", name) not in EXPLANATIONS]
    missing += [("onnx", op) for op in ONNX_OPS if ("onnx", op) not in EXPLANATIONS]
    assert missing == []


def test_reporters_have_the_method_of_each_command_they_serve() -> None:
    """A check reporter has render(results, options), an explain one explain(reports, options)."""
    methods = {"check": "render", "explain": "explain"}
    for name, reporter in registered().items():
        assert commands_of(reporter) <= set(methods), name
        assert all(callable(getattr(reporter, methods[c], None)) for c in commands_of(reporter)), name
    assert {"text", "json"} <= set(reporters("explain")) and "sarif" not in reporters("explain")
    assert {"text", "json", "sarif", "github", "junit", "markdown"} <= set(reporters())


def test_explain_formats_come_from_the_registry() -> None:
    """`explain --help` lists the explain reporters; a check-only format is refused."""
    from click.testing import CliRunner

    from graphcheck.cli import main

    help_text = " ".join(CliRunner().invoke(main, ["explain", "--help"]).stdout.split())
    assert f"Output format: {', '.join(sorted(reporters('explain')))}." in help_text
    refused = CliRunner().invoke(main, ["explain", "--format", "sarif", "."])
    assert refused.exit_code == 2 and "unknown format 'sarif'" in refused.stderr


def test_help_imports_no_reporter_and_no_explanation() -> None:
    """`graphcheck --help` stays fast: reporters and explanations load when a command runs."""
    code = ("import sys\nfrom graphcheck.cli import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('graphcheck.reporters', "
            "'graphcheck.explanations', 'graphcheck.shapes'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
