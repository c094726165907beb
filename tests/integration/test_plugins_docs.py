"""docs/plugins.md: its excerpts are the example plugin's code, and its sketches run.

A block whose first line is ``# <path>`` must appear verbatim in that file of the repository;
every other Python block is executed and its loader or reporter used as graphcheck uses one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from graphcheck.engine import is_loader
from graphcheck.findings import Finding, LoadError, Severity
from graphcheck.reporters import RenderOptions, _is_reporter
from graphcheck.results import FileResult

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "plugins.md").read_text()
BLOCKS: list[tuple[str, str]] = re.findall(r"^```(\w+)\n(.*?)^```$", PAGE, re.M | re.S)
EXCERPTS = [(lang, body) for lang, body in BLOCKS if re.match(r"# [\w./-]+\.(py|toml)\n", body)]
SKETCHES = [body for lang, body in BLOCKS if lang == "python" and (lang, body) not in EXCERPTS]


@pytest.mark.parametrize(("language", "body"), EXCERPTS, ids=lambda v: v[:50] if "\n" in v else v)
def test_excerpts_are_the_example_plugin_code(language: str, body: str) -> None:
    """Each excerpt is a verbatim piece of the file its first line names."""
    first, rest = body.split("\n", 1)
    source = (ROOT / first.removeprefix("# ")).read_text()
    assert rest in source, f"docs/plugins.md shows code that {first[2:]} no longer has"


def test_there_are_excerpts_and_sketches() -> None:
    """The page shows the rule, its cases, the shape function, the registration and the tests."""
    assert len(EXCERPTS) >= 6 and len(SKETCHES) == 2


def _run(sketch: str) -> dict[str, Any]:
    """Execute a sketch in a fresh namespace; return its globals."""
    namespace: dict[str, Any] = {"__name__": "docs_sketch"}
    exec(compile(sketch, "docs/plugins.md", "exec"), namespace)
    return namespace


def test_the_loader_sketch_is_a_loader() -> None:
    """The loader sketch passes graphcheck's loader check, claims its files and raises LoadError."""
    (loader,) = [_run(s)["LOADER"] for s in SKETCHES if "LOADER =" in s]
    assert is_loader(loader)
    assert loader.finds(Path("a.tiny"), None) is True and loader.finds(Path("a.txt"), None) is None
    assert loader.finds(Path("a.bin"), b"TINY...") is True
    with pytest.raises(LoadError, match="not supported yet"):
        loader.load(Path("a.tiny"))


def test_the_reporter_sketch_renders() -> None:
    """The reporter sketch passes graphcheck's reporter check and renders results."""
    (reporter,) = [_run(s)["REPORTER"] for s in SKETCHES if "REPORTER =" in s]
    assert _is_reporter(reporter) and reporter.commands == {"check"}
    found = Finding(path="m.keras", code="GC301", rule="units-equal-timesteps",
                    severity=Severity.WARNING, node="lstm", message="...")
    results = [FileResult(path="m.keras", findings=[found]), FileResult(path="n.onnx", findings=[])]
    assert reporter.render(results, RenderOptions()) == "m.keras: 1 findings\nn.onnx: 0 findings\n"
