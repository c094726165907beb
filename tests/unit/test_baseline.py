"""--baseline: the first run records today's findings, later runs report only new ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphcheck.cli import main

RULES = Path(__file__).resolve().parents[2] / "fixtures" / "rules"


@pytest.fixture
def zoo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make a model zoo with one warning and enter it."""
    (tmp_path / "zoo").mkdir()
    shutil.copy(RULES / "units_equal_timesteps.keras", tmp_path / "zoo" / "a.keras")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    """Run ``graphcheck check`` without configuration files."""
    result = CliRunner().invoke(main, ["check", "--no-config", "--jobs", "1", *args])
    return result.exit_code, result.output


def test_first_run_writes_the_baseline_and_passes(zoo: Path) -> None:
    """Adopting the linter starts green: the findings go into the file, exit 0."""
    code, out = run("zoo", "--baseline", "gc-baseline.json")
    entries = json.loads((zoo / "gc-baseline.json").read_text())["findings"]
    assert code == 0 and "wrote 1 finding" in out
    assert [(e["path"], e["rule"], e["layer"]) for e in entries] == [
        ("zoo/a.keras", "units-equal-timesteps", "lstm")]


def test_later_runs_report_only_new_findings(zoo: Path) -> None:
    """A known finding is hidden; a new model's finding is reported and fails the run."""
    run("zoo", "--baseline", "gc-baseline.json")
    assert run("zoo", "--baseline", "gc-baseline.json")[0] == 0
    shutil.copy(RULES / "single_timestep.keras", zoo / "zoo" / "b.keras")
    code, out = run("zoo", "--baseline", "gc-baseline.json")
    assert code == 1 and "zoo/b.keras:lstm: GC302" in out and "GC301" not in out


def test_fingerprint_ignores_message_numbers(zoo: Path) -> None:
    """A baseline entry whose message has other numbers still matches by path, rule and layer."""
    run("zoo", "--baseline", "b.json")
    document = json.loads((zoo / "b.json").read_text())
    document["findings"][0]["message"] = "units=12 equals the number of timesteps T=12"
    (zoo / "b.json").write_text(json.dumps(document))
    assert run("zoo", "--baseline", "b.json")[0] == 0


def test_baseline_paths_are_relative_to_the_baseline_file(zoo: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Running from another folder matches the same entries."""
    run("zoo", "--baseline", "b.json")
    monkeypatch.chdir(zoo / "zoo")
    assert run(".", "--baseline", "../b.json")[0] == 0


def test_write_baseline_rewrites_and_needs_a_file(zoo: Path) -> None:
    """--write-baseline accepts today's findings again; alone it is a usage error."""
    (zoo / "b.json").write_text('{"findings": []}')
    assert run("zoo", "--baseline", "b.json")[0] == 1
    assert run("zoo", "--baseline", "b.json", "--write-baseline")[0] == 0
    assert run("zoo", "--baseline", "b.json")[0] == 0
    assert run("zoo", "--write-baseline")[0] == 2


def test_unreadable_baseline_is_a_usage_error(zoo: Path) -> None:
    """A corrupt baseline file exits 2 and says how to recover."""
    (zoo / "b.json").write_text("not json")
    code, out = run("zoo", "--baseline", "b.json")
    assert code == 2 and "--write-baseline" in out
