"""Which files a run checks: excludes, --force-exclude, --show-files/--show-settings, HDF5 non-models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from graphcheck.cli import main
from graphcheck.discovery import Patterns, Walk, discover, normalise

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
GOOD = FIXTURES / "keras" / "question.keras"
BROKEN = FIXTURES / "keras" / "units16_weights32.keras"
WEIGHTS = FIXTURES / "weights"


def run(*args: str) -> Result:
    """Invoke the CLI in-process."""
    return CliRunner().invoke(main, list(args))


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make a project with models in models/, vendor/ and a .venv, run from its root."""
    for folder in ("models", "vendor/sub", ".venv"):
        (tmp_path / folder).mkdir(parents=True)
    shutil.copy(GOOD, tmp_path / "models" / "good.keras")
    shutil.copy(BROKEN, tmp_path / "vendor" / "sub" / "broken.keras")
    shutil.copy(BROKEN, tmp_path / ".venv" / "x.keras")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def files(*args: str) -> list[str]:
    """Return what --show-files lists."""
    result = run("check", "--show-files", *args)
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def test_dot_slash_and_trailing_slash_patterns_match(project: Path) -> None:
    """`./vendor` and `vendor/` mean the folder vendor at the root, like in .gitignore."""
    assert normalise("./vendor") == "/vendor" and normalise("././x/") == "/x/"
    assert files(".") == ["models/good.keras", "vendor/sub/broken.keras"]
    for pattern in ("./vendor", "vendor/", "vendor", "sub", "*.keras"):
        kept = files("--extend-exclude", pattern, ".")
        assert "vendor/sub/broken.keras" not in kept, pattern


def test_exclude_replaces_defaults_and_extend_exclude_adds(project: Path) -> None:
    """Like ruff and flake8: --exclude replaces the default excludes (.venv is walked then)."""
    assert files("--exclude", "vendor", ".") == [".venv/x.keras", "models/good.keras"]
    assert ".venv/x.keras" not in files("--extend-exclude", "vendor", ".")


def test_configured_exclude_and_extend_exclude(project: Path) -> None:
    """The configuration's exclude / extend-exclude apply relative to its folder."""
    (project / "pyproject.toml").write_text('[tool.graphcheck]\nextend-exclude = ["./vendor/"]\n')
    assert files(".") == ["models/good.keras"]
    (project / "pyproject.toml").write_text('[tool.graphcheck]\nexclude = ["models"]\n')
    assert files(".") == [".venv/x.keras", "vendor/sub/broken.keras"]
    (project / "pyproject.toml").write_text('[tool.graphcheck]\nexclude = "models"\n')
    result = run("check", ".")
    assert result.exit_code == 2 and "must be a list of path patterns" in result.output


def test_force_exclude_applies_to_named_files(project: Path) -> None:
    """Named files are always checked, unless --force-exclude (pre-commit names every file)."""
    named = "vendor/sub/broken.keras"
    assert files("--extend-exclude", "vendor/", named) == [named]
    assert files("--force-exclude", "--extend-exclude", "vendor/", named, "models/good.keras") == [
        "models/good.keras"]
    (project / "pyproject.toml").write_text('[tool.graphcheck]\nextend-exclude = ["vendor"]\n')
    assert run("check", "--force-exclude", named).exit_code == 0
    assert run("check", named).exit_code == 1


def test_walk_patterns_relative_to_their_base(tmp_path: Path) -> None:
    """An anchored pattern is relative to its base folder; outside it only names match."""
    (tmp_path / "a" / "vendor").mkdir(parents=True)
    shutil.copy(GOOD, tmp_path / "a" / "vendor" / "m.keras")
    anchored = Walk(excludes=(Patterns(patterns=("/vendor",), base=tmp_path),))
    assert len(discover([str(tmp_path)], anchored)) == 1  # /vendor is not a/vendor
    below = Walk(excludes=(Patterns(patterns=("/a/vendor",), base=tmp_path),))
    assert discover([str(tmp_path)], below) == []


def test_show_settings_names_the_configuration(project: Path) -> None:
    """--show-settings says which file configures each model and what it turns on."""
    (project / "pyproject.toml").write_text(
        '[tool.graphcheck]\nignore = ["GC301"]\nfail-on = "error"\n'
        '[tool.graphcheck.rules.units-equal-timesteps]\nmin-units = 3\n')
    out = run("check", "--show-settings", "models/good.keras").stdout
    assert "file: models/good.keras" in out
    assert f"configuration: {project / 'pyproject.toml'}" in out
    assert "fail-on: error" in out and "GC101 weight-shape-mismatch" in out
    assert "GC301" not in out.split("rules: ")[1].splitlines()[0]
    assert "rules.units-equal-timesteps.min-units: 3" in out


# Item 4: HDF5 that is not a model.

def test_weights_only_files_are_notes_that_pass() -> None:
    """Keras 2 and Keras 3 save_weights files are a not-a-model note; the run passes."""
    for name in ("keras2_question_weights.h5", "keras3_question.weights.h5"):
        result = run("check", "--format", "json", str(WEIGHTS / name))
        [found] = json.loads(result.stdout)["findings"]
        assert result.exit_code == 0
        assert (found["rule"], found["severity"]) == ("not-a-model", "note")
        assert "weights only" in found["message"] and "--weights" in found["message"]


def test_hdf5_data_is_skipped_in_walks_and_a_note_when_named(tmp_path: Path) -> None:
    """A plain HDF5 data file (h5py arrays) is not walked into the run, and named it is a note."""
    shutil.copy(WEIGHTS / "data.h5", tmp_path / "data.h5")
    shutil.copy(WEIGHTS / "keras2_question_weights.h5", tmp_path / "w.h5")
    # The walk claims both by their first bytes; the read child that loads them drops the data.
    assert [(t.path.name, t.kept_by) for t in discover([str(tmp_path)])] == [("data.h5", "h5"),
                                                                             ("w.h5", "h5")]
    for jobs in ("1", "2"):
        walked = run("check", "--format", "json", "--jobs", jobs, str(tmp_path))
        assert [f["path"] for f in json.loads(walked.stdout)["findings"]] == [str(tmp_path / "w.h5")]
        quiet = run("check", "--jobs", jobs, "--ignore", "not-a-model", str(tmp_path))
        assert "All checks passed (1 file)." in quiet.stdout
    result = run("check", "--format", "json", str(tmp_path / "data.h5"))
    [found] = json.loads(result.stdout)["findings"]
    assert result.exit_code == 0 and found["rule"] == "not-a-model" and "data" in found["message"]


def test_architecture_with_weights_is_checked_as_a_pair() -> None:
    """to_json + save_weights: a matching pair passes, an architecture edited to 16 units fails."""
    good = run("check", str(WEIGHTS / "keras2_question.json"),
               "--weights", str(WEIGHTS / "keras2_question_weights.h5"))
    assert good.exit_code == 0, good.output
    keras3 = run("check", str(WEIGHTS / "keras3_question.json"),
                 "--weights", str(WEIGHTS / "keras3_question.weights.h5"))
    assert keras3.exit_code == 0, keras3.output
    bad = run("check", "--format", "json", str(WEIGHTS / "keras2_units16.json"),
              "--weights", str(WEIGHTS / "keras2_question_weights.h5"))
    found = json.loads(bad.stdout)["findings"]
    assert bad.exit_code == 1
    assert {(f["node"], f["rule"]) for f in found} >= {("lstm", "weight-shape-mismatch"),
                                                       ("dense", "weight-shape-mismatch")}


def test_weights_with_the_wrong_partner() -> None:
    """--weights needs one architecture file and a save_weights file; anything else says why."""
    assert run("check", str(WEIGHTS), "--weights", str(WEIGHTS / "data.h5")).exit_code == 2
    wrong = run("check", "--format", "json", str(WEIGHTS / "keras2_question.json"),
                "--weights", str(WEIGHTS / "data.h5"))
    [found] = json.loads(wrong.stdout)["findings"]
    assert found["rule"] == "unreadable-model" and "not a save_weights file" in found["message"]
