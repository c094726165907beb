"""What users of ruff and flake8 expect from a linter's command line (issue 11, issue 18 item 1)."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from graphcheck.cli import main
from graphcheck.cli_output import use_color
from graphcheck.reporters import shorten

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
QUESTION = str(FIXTURES / "keras" / "question.keras")
BROKEN = str(FIXTURES / "keras" / "units16_weights32.keras")
WEIGHTS = FIXTURES / "weights"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    """Invoke the CLI in-process with stdout and stderr kept apart."""
    return CliRunner().invoke(main, list(args), env=env)


# Item 2: severity on every line, colour choice.

def test_every_text_line_names_its_severity() -> None:
    """Plain output (CI logs) says error, warning or note on each finding line."""
    out = run("--color", "never", BROKEN, str(FIXTURES / "keras/units_equal_timesteps.keras")).stdout
    lines = out.splitlines()[:-1]
    assert lines and all(" [error] " in x or " [warning] " in x or " [note] " in x for x in lines)
    assert "\x1b[" not in out
    assert lines[-1].split(": ", 1)[1].startswith("GC301 [warning] units-equal-timesteps ")


def test_color_flag_and_environment() -> None:
    """--color wins; auto follows NO_COLOR, then FORCE_COLOR, then whether stdout is a terminal."""
    assert "\x1b[31m" in run("--color", "always", BROKEN, env={"NO_COLOR": "1"}).stdout
    assert "\x1b[" not in run("--color", "never", BROKEN, env={"FORCE_COLOR": "1"}).stdout
    assert "\x1b[" in run(BROKEN, env={"FORCE_COLOR": "1", "NO_COLOR": ""}).stdout
    assert not use_color("auto", "text", None, {"NO_COLOR": "1", "FORCE_COLOR": "1"})
    assert not use_color("always", "json", None, {})
    assert not use_color("auto", "text", "report.txt", {})  # a file is never a terminal


def test_summary_plurals() -> None:
    """One finding, two errors and one warning are counted in correct English."""
    out = run(BROKEN, str(FIXTURES / "keras/units_equal_timesteps.keras")).stdout
    assert out.splitlines()[-1] == "Found 6 findings (5 errors, 1 warning)."
    assert run(QUESTION).stdout == "All checks passed (1 file).\n"


# Item 5: outputs, --statistics, --quiet, markdown.

def test_output_creates_folders_and_dash_is_stdout(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """-o writes into folders it creates; -o - prints and writes no file named '-'."""
    monkeypatch.chdir(tmp_path)
    assert run("--format", "json", "-o", "reports/deep/out.json", BROKEN).exit_code == 1
    assert json.loads((tmp_path / "reports/deep/out.json").read_text())["findings"]
    result = run("--format", "json", "-o", "-", BROKEN)
    assert json.loads(result.stdout)["findings"] and not (tmp_path / "-").exists()


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else False,
                    reason="root writes into read-only folders")
def test_unwritable_output_exits_2(tmp_path: Path) -> None:
    """A report that cannot be written is a clear error, exit 2, no traceback."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    result = run("-o", str(locked / "out.txt"), BROKEN)
    assert result.exit_code == 2 and "cannot write the report" in result.stderr


def test_output_that_is_a_folder_exits_2(tmp_path: Path) -> None:
    """Also as root: a report path whose parent is a file cannot be written; exit 2."""
    (tmp_path / "file").write_text("x")
    result = run("-o", str(tmp_path / "file" / "out.txt"), BROKEN)
    assert result.exit_code == 2 and "cannot write the report" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_statistics_counts_per_rule() -> None:
    """--statistics prints count, code, severity and rule, most frequent first; exit code kept."""
    result = run("--statistics", BROKEN, str(FIXTURES / "keras/units_equal_timesteps.keras"))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["4\tGC101\t[error] weight-shape-mismatch",
                                          "1\tGC203\t[error] declared-shape-mismatch",
                                          "1\tGC301\t[warning] units-equal-timesteps"]
    rows = json.loads(run("--statistics", "--format", "json", BROKEN).stdout)
    assert rows[0] == {"code": "GC101", "rule": "weight-shape-mismatch", "severity": "error", "count": 4}


def test_quiet_prints_findings_only() -> None:
    """--quiet: no summary line, and nothing at all on a clean run (even on stderr)."""
    clean = run("-q", QUESTION)
    assert clean.exit_code == 0 and clean.stdout == "" and clean.stderr == ""
    out = run("-q", BROKEN).stdout
    assert "Found" not in out and len(out.splitlines()) == 5


def test_markdown_table_for_step_summary() -> None:
    """--format markdown is a summary and a table; pipes and markup in names are escaped."""
    out = run("--format", "markdown", BROKEN).stdout
    lines = out.splitlines()
    assert lines[:3] == ["## graphcheck", "", "Found 5 findings (5 errors)."]
    rows = [x for x in lines if x.startswith("| 🔴")]
    assert len(rows) == 5 and all(x.count(" | ") == 4 for x in rows)
    assert "`GC101` weight-shape-mismatch" in rows[0]
    clean = run("--format", "markdown", QUESTION).stdout  # then the file's Mermaid flowchart
    assert "\nAll checks passed (1 file).\n\n<details>" in clean and clean.endswith("</details>\n")
    assert run("--format", "markdown", "-q", QUESTION).stdout == ""


def test_long_names_are_shortened_in_tables_only() -> None:
    """A table cell keeps a long name's start and end; JSON keeps it whole."""
    name = "encoder/" + "x" * 80 + "/lstm_7"
    short = shorten(name, 48)
    assert len(short) == 48 and short.startswith("encoder/") and short.endswith("/lstm_7")
    assert shorten("lstm", 48) == "lstm"


# Item 8: order and words.

def test_findings_follow_the_graph_not_the_alphabet() -> None:
    """The cause (lstm) comes before its symptom (dense), although 'dense' < 'lstm'."""
    found = json.loads(run("--format", "json", BROKEN).stdout)["findings"]
    nodes = [f["node"] for f in found]
    assert nodes.index("lstm") < nodes.index("dense")
    assert nodes == sorted(nodes, key=["lstm", "dense"].index)


def test_messages_say_no_shape_twice() -> None:
    """A formula whose last step is the shape itself is not repeated after it."""
    out = run(BROKEN).stdout
    assert "implies (16, 2) = (features, units)\n" in out.replace(" = (16, 2)\n", "!")
    assert "(16, 2) = (features, units) = (16, 2)" not in out
    assert "(64, 64) = (features, 4*units) = (64, 4*16)" in out  # arithmetic that teaches stays


def test_huge_integer_message_gives_no_python_advice() -> None:
    """An integer too long for Python's converter is described, not blamed on sys settings."""
    out = run(str(FIXTURES / "hostile" / "huge_int.json")).stdout
    assert "digits long" in out and "sys." not in out and "set_int_max_str_digits" not in out


# Item 9: help.

def test_help_shows_the_path_form_and_every_format() -> None:
    """Top-level usage shows `graphcheck PATH`; check --help names every registered format."""
    top = run("--help").stdout
    assert "Usage: graphcheck [OPTIONS] PATH... | COMMAND [ARGS]..." in top
    from importlib.metadata import entry_points

    names = {p.name for p in entry_points(group="graphcheck.reporters")}
    assert {"text", "json", "sarif", "github", "junit", "markdown"} <= names
    from graphcheck.reporters import reporters

    assert names == set(reporters("check")) | set(reporters("explain"))
    for command in ("check", "explain"):  # each command lists the formats it serves
        text = " ".join(run(command, "--help").stdout.split())
        assert all(name in text for name in reporters(command))


def test_short_version_flag() -> None:
    """-V prints the version like --version."""
    assert run("-V").exit_code == 0 and run("-V").stdout == run("--version").stdout


def test_rule_did_you_mean() -> None:
    """A misspelt rule name gets a suggestion and exit 2."""
    result = run("rule", "weight-shape-mismatc")
    assert result.exit_code == 2 and "did you mean 'weight-shape-mismatch'" in result.stderr


# Issue 18 item 1: arguments after `--` are paths.

def test_arguments_after_double_dash_are_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file named like an option after -- is checked as a file; nothing else is written."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(BROKEN, tmp_path / "--output=victim.keras")
    shutil.copy(BROKEN, tmp_path / "--baseline=zz.keras")
    shutil.copy(QUESTION, tmp_path / "victim.keras")
    before = (tmp_path / "victim.keras").read_bytes()
    for args in (["check", "--", "--output=victim.keras", "--baseline=zz.keras"],
                 ["--", "--output=victim.keras"]):
        result = run(*args)
        assert result.exit_code == 1 and "--output=victim.keras:lstm: GC101 [error]" in result.stdout
    assert (tmp_path / "victim.keras").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "--baseline=zz.keras", "--output=victim.keras", "victim.keras"]


def test_missing_option_like_path_explains_double_dash() -> None:
    """An option given after `--` (pre-commit `args:`) is a missing file, with a hint why."""
    result = run("check", "--", "--select", QUESTION)
    assert result.exit_code == 2 and "arguments after `--` are file names" in result.stderr


def test_explain_table_shortens_long_names_and_json_keeps_them(tmp_path: Path) -> None:
    """A 90-character layer name is cut in the explain table, whole in explain JSON."""
    from graphcheck.reporters.text import NAME_WIDTH

    long = "block_" + "a" * 80 + "_lstm"
    text = (FIXTURES / "keras" / "question.json").read_text().replace('"lstm"', f'"{long}"')
    assert long in text
    (tmp_path / "arch.json").write_text(text)
    table = run("explain", str(tmp_path / "arch.json")).stdout.split("Total params")[0]
    assert long not in table and shorten(long, NAME_WIDTH) in table
    assert max(len(line) for line in table.splitlines()) < 2 * NAME_WIDTH + 50
    document = json.loads(run("explain", "--format", "json", str(tmp_path / "arch.json")).stdout)
    assert long in {node["name"] for node in document[0]["nodes"]}
