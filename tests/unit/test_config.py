"""Configuration through the real command line: discovery, selection, suppression, usage errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphcheck.cli import main

RULES = Path(__file__).resolve().parents[2] / "fixtures" / "rules"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make a project folder holding two models with one warning each, and enter it."""
    models = tmp_path / "models"
    models.mkdir()
    for name in ("units_equal_timesteps.keras", "single_timestep.keras"):
        shutil.copy(RULES / name, models / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    """Run ``graphcheck check`` and return (exit code, stdout + stderr)."""
    result = CliRunner().invoke(main, ["check", "--jobs", "1", *args])
    return result.exit_code, result.output


def test_without_configuration_both_rules_fire(project: Path) -> None:
    """The baseline for the other tests: both findings, exit 1."""
    code, out = run("models")
    assert code == 1 and "GC301" in out and "GC302" in out


def test_ignore_in_pyproject_next_to_the_model_silences_the_rule(project: Path) -> None:
    """An ignore of units-equal-timesteps in models/pyproject.toml silences it there."""
    (project / "models" / "pyproject.toml").write_text(
        '[tool.graphcheck]\nignore = ["units-equal-timesteps"]\n')
    code, out = run("models/units_equal_timesteps.keras")
    assert (code, "GC301" in out) == (0, False), out


def test_pyproject_without_the_table_is_skipped_for_the_one_above(project: Path) -> None:
    """Like ruff, a pyproject.toml without [tool.graphcheck] does not stop the search."""
    (project / "graphcheck.toml").write_text('ignore = ["GC3"]\n')
    (project / "models" / "pyproject.toml").write_text('[project]\nname = "x"\n')
    code, out = run("models")
    assert code == 0 and "GC30" not in out, out


def test_select_prefix_extend_select_and_cli_ignore(project: Path) -> None:
    """Select by prefix; --extend-select adds, --ignore on the command line removes."""
    (project / "pyproject.toml").write_text('[tool.graphcheck]\nselect = ["GC5"]\n')
    assert "GC30" not in run("models")[1]
    out = run("models", "--extend-select", "single-timestep")[1]
    assert "GC302" in out and "GC301" not in out
    out = run("models", "--select", "GC3", "--ignore", "GC302")[1]
    assert "GC301" in out and "GC302" not in out


def test_per_file_and_per_layer_ignores(project: Path) -> None:
    """A glob silences rules for matching files; path:layer silences one layer."""
    (project / "pyproject.toml").write_text(
        '[tool.graphcheck.per-file-ignores]\n"units_*.keras" = ["GC301"]\n'
        '[tool.graphcheck.per-layer-ignores]\n"models/single_timestep.keras:lstm" = ["single-timestep"]\n'
        '"models/single_timestep.keras:other" = ["GC5"]\n')
    code, out = run("models")
    assert code == 0 and "GC30" not in out, out


def test_layer_key_in_per_file_ignores(project: Path) -> None:
    """A "path:layer" key also works inside per-file-ignores and silences only that layer."""
    (project / "pyproject.toml").write_text(
        '[tool.graphcheck.per-file-ignores]\n"models/units_*.keras:lstm" = ["GC301"]\n')
    assert "GC301" not in run("models")[1]
    (project / "pyproject.toml").write_text(
        '[tool.graphcheck.per-file-ignores]\n"models/units_*.keras:other" = ["GC301"]\n')
    assert "GC301" in run("models")[1]


def test_limits_from_configuration(project: Path) -> None:
    """[limits] lowers a bound (the model then gets a finding naming it); a typo exits 2."""
    (project / "pyproject.toml").write_text("[tool.graphcheck.limits]\nmax-nodes = 1\n")
    code, out = run("models")
    assert code == 1 and "max_nodes" in out and "unreadable-model" in out, out
    (project / "pyproject.toml").write_text("[tool.graphcheck.limits]\nmax-node = 1\n")
    code, out = run("models")
    assert code == 2 and "did you mean 'max-nodes'" in out, out
    (project / "pyproject.toml").write_text("[tool.graphcheck.limits]\nmax-nodes = 0\n")
    assert run("models")[0] == 2


def test_rule_option_threshold(project: Path) -> None:
    """min-units above the layer's units silences units-equal-timesteps (units=10 here)."""
    (project / "pyproject.toml").write_text(
        "[tool.graphcheck.rules.units-equal-timesteps]\nmin-units = 11\n")
    assert "GC301" not in run("models")[1]
    (project / "graphcheck.toml").write_text("[rules.GC301]\nmin-units = 10\n")
    assert "GC301" in run("models")[1]


def test_fail_on_from_configuration_and_flag(project: Path) -> None:
    """fail-on = "error" in the file makes warnings pass; --fail-on overrides it."""
    (project / "pyproject.toml").write_text('[tool.graphcheck]\nfail-on = "error"\n')
    assert run("models")[0] == 0
    assert run("models", "--fail-on", "warning")[0] == 1


def test_explicit_config_and_no_config(project: Path) -> None:
    """--config applies one file to everything; --no-config ignores every file."""
    (project / "pyproject.toml").write_text('[tool.graphcheck]\nignore = ["ALL"]\n')
    other = project / "strict.toml"
    other.write_text('select = ["GC302"]\n')
    assert run("models")[0] == 0
    out = run("models", "--config", str(other))[1]
    assert "GC302" in out and "GC301" not in out
    out = run("models", "--no-config")[1]
    assert "GC301" in out and "GC302" in out


@pytest.mark.parametrize(("text", "says"), [
    ('[tool.graphcheck]\nignore = ["units-equal-timestep"]\n', "did you mean 'units-equal-timesteps'"),
    ('[tool.graphcheck]\nignor = ["GC301"]\n', "unknown key 'ignor'; did you mean 'ignore'"),
    ('[tool.graphcheck]\nselect = ["GC9"]\n', "unknown rule 'GC9'"),
    ('[tool.graphcheck]\nfail-on = "warn"\n', "fail-on must be one of"),
    ('[tool.graphcheck.rules.units-equal-timesteps]\nmin-unit = 3\n', "did you mean 'min-units'"),
    ('[tool.graphcheck.rules.units-equal-timesteps]\nmin-units = "3"\n', "must be an integer, got"),
    ('[tool.graphcheck.per-layer-ignores]\n"models/a.keras" = ["GC301"]\n', "must be 'path:layer'"),
    ("[tool.graphcheck\n", "cannot read configuration"),
])
def test_configuration_mistakes_are_usage_errors(project: Path, text: str, says: str) -> None:
    """A misspelt rule, key or option exits 2 with a message naming it."""
    (project / "pyproject.toml").write_text(text)
    code, out = run("models")
    assert code == 2 and says in out, out


def test_misspelt_rule_on_the_command_line_is_a_usage_error(project: Path) -> None:
    """--ignore with an unknown rule exits 2."""
    code, out = run("models", "--ignore", "single-timestpe")
    assert code == 2 and "did you mean 'single-timestep'" in out
