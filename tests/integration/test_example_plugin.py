"""The example plugin installs, its rule is listed and fires, its layer's shapes are known, its tests pass.

This is how CI runs ``examples/graphcheck-example-plugin``: ``.ci/run`` runs the README's test
command only, and this test (part of it) installs a copy of the example into a temporary
folder with pip (offline: no dependencies, no build isolation, no index), then runs the
``graphcheck`` command and the example's own tests with that folder on ``PYTHONPATH``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "graphcheck-example-plugin"
MODEL = EXAMPLE / "tests" / "fixtures" / "team_model.keras"
EXPECTED = json.loads((MODEL.parent / "team_model.expected.json").read_text())
# The model's LSTM has 16 units: the project's policy here allows 8.
POLICY = "[tool.graphcheck.rules.recurrent-units-limit]\nmax-units = 8\n"


def _run(args: list[str], cwd: Path, paths: list[Path]) -> subprocess.CompletedProcess[str]:
    """Run a command with ``paths`` (then the repository) on PYTHONPATH."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in [*paths, ROOT]),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False,
                          timeout=300)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install a copy of the example (the source tree stays clean) into a folder; return it."""
    base = tmp_path_factory.mktemp("example-plugin")
    source = base / "source"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    site = base / "site"
    done = _run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                 "--no-build-isolation", "--target", str(site), str(source)], base, [])
    assert done.returncode == 0, done.stderr
    return site


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Return a project holding the team's model and its max-units policy."""
    shutil.copy(MODEL, tmp_path / MODEL.name)
    (tmp_path / "pyproject.toml").write_text(POLICY)
    return tmp_path


def test_the_rule_is_listed(site: Path, tmp_path: Path) -> None:
    """`graphcheck rules` lists GCX001 and `graphcheck rule` prints its documentation and option."""
    listed = _run([sys.executable, "-m", "graphcheck", "rules"], tmp_path, [site])
    assert listed.returncode == 0, listed.stderr
    (documented,) = [line for line in (ROOT / "docs" / "plugins.md").read_text().splitlines()
                     if line.startswith("GCX001 ")]  # the output docs/plugins.md shows
    assert documented.split() in [line.split() for line in listed.stdout.splitlines()]
    shown = _run([sys.executable, "-m", "graphcheck", "rule", "GCX001"], tmp_path, [site])
    assert "## How to fix" in shown.stdout and "`max-units` (default `256`)" in shown.stdout


def test_the_rule_fires_and_the_custom_layer_is_known(site: Path, project: Path) -> None:
    """The team model breaks the configured policy; ScaledDense has shapes and checked weights."""
    done = _run([sys.executable, "-m", "graphcheck", "check", MODEL.name], project, [site])
    assert done.returncode == 1, done.stdout + done.stderr
    assert ("team_model.keras:lstm: GCX001 [warning] recurrent-units-limit LSTM has 16 units, "
            "above the team limit of 8") in done.stdout
    assert "unsupported-layer" not in done.stdout and "weight-shape-mismatch" not in done.stdout


@pytest.mark.skipif(importlib.util.find_spec("graphcheck_example_plugin") is not None,
                    reason="the example plugin is installed in this environment")
def test_without_the_plugin_the_layer_is_unsupported(project: Path) -> None:
    """The contrast: without the plugin installed, ScaledDense is unknown and GCX001 is no rule."""
    done = _run([sys.executable, "-m", "graphcheck", "check", "--no-config", MODEL.name], project, [])
    assert "team_model.keras:scaled: GC002 [note] unsupported-layer" in done.stdout
    assert "GCX001" not in done.stdout


def test_shapes_through_the_custom_layer_match_keras(site: Path, project: Path) -> None:
    """Graphcheck's shapes for every layer are the ones Keras gave when it built the model."""
    done = _run([sys.executable, "-m", "graphcheck", "explain", "--format", "json", MODEL.name],
                project, [site])
    (report,) = json.loads(done.stdout)
    shapes = {node["name"]: node["output_shapes"][0] for node in report["nodes"]
              if node["name"] in EXPECTED["output_shapes"]}
    assert shapes == EXPECTED["output_shapes"]


def test_the_example_tests_pass(site: Path, tmp_path: Path) -> None:
    """The example's own tests (graphcheck.testing) pass against the installed example."""
    source = site.parent / "source"
    done = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                source, [site])
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout and "failed" not in done.stdout
