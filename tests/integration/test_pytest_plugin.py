"""``pytest --graphcheck``: model files as test items, run in a throwaway project with pytester.

The plugin is found through its ``pytest11`` entry point, as users get it after installing
graphcheck. Each test copies a clean and a broken model (committed fixtures) into a temporary
project and runs pytest on it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
CLEAN = ROOT / "fixtures" / "rules" / "ok_question.keras"
BROKEN = ROOT / "fixtures" / "rules" / "units_equal_timesteps.keras"
FOLDER = ROOT / "fixtures" / "keras" / "question_unzipped"
GC301 = "models/broken.keras:lstm: GC301 [[]warning] units-equal-timesteps units=10 equals"  # fnmatch


@pytest.fixture(autouse=True)
def _analysis_imported() -> None:
    """Import the analysis here first, before pytester's in-process runs.

    pytester drops the modules such a run imports, and numpy's extension modules cannot be
    imported a second time in one process.
    """
    from graphcheck.engine import load_plugins
    from graphcheck.loaders.h5_weights import import_h5py

    load_plugins()
    import_h5py()


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """Return a project with models/clean.keras and models/broken.keras."""
    models = pytester.mkdir("models")
    shutil.copy(CLEAN, models / "clean.keras")
    shutil.copy(BROKEN, models / "broken.keras")
    return pytester


def test_the_plugin_is_registered_as_pytest11() -> None:
    """Pytest finds the plugin by its entry point, named graphcheck."""
    points = [p for p in entry_points(group="pytest11") if p.name == "graphcheck"]
    assert points and points[0].value == "graphcheck.pytest_plugin"


def test_one_item_per_model_broken_fails_with_the_findings_text(project: pytest.Pytester) -> None:
    """The broken model fails with the text reporter's line; the clean one passes."""
    result = project.runpytest("--graphcheck", "models")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "models/broken.keras F*", "models/clean.keras .*",
        f"{GC301}*", "1 finding at or above fail-on=warning",
        "FAILED models/broken.keras::graphcheck*"])
    assert "Traceback" not in result.stdout.str()


def test_node_ids_are_the_model_paths(project: pytest.Pytester) -> None:
    """Node ids are path::graphcheck, stable across runs (what --lf and xdist rely on)."""
    result = project.runpytest("--graphcheck", "models", "--collect-only", "-q")
    ids = [line for line in result.stdout.lines if "::" in line]
    assert ids == ["models/broken.keras::graphcheck", "models/clean.keras::graphcheck"]


def test_without_the_flag_nothing_is_collected(project: pytest.Pytester) -> None:
    """Without --graphcheck the models are not tests (pytest: no tests ran, exit 5)."""
    result = project.runpytest("models")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_k_selects_by_file_name_and_by_path(project: pytest.Pytester) -> None:
    """-k matches the model's file name and the path as shown."""
    by_name = project.runpytest("--graphcheck", "models", "-k", "broken")
    by_name.assert_outcomes(failed=1, deselected=1)
    by_path = project.runpytest("--graphcheck", "models", "-k", "models/clean.keras")
    by_path.assert_outcomes(passed=1, deselected=1)


def test_lf_reruns_only_the_failed_model(project: pytest.Pytester) -> None:
    """--lf after a run checks only the model that failed."""
    project.runpytest("--graphcheck", "models").assert_outcomes(passed=1, failed=1)
    again = project.runpytest("--graphcheck", "models", "--lf")
    again.assert_outcomes(failed=1)
    # pytest skips whole files without a recorded failure: the file part of the node id is a path.
    again.stdout.fnmatch_lines(["run-last-failure: rerun previous 1 failure (skipped 1 file)"])


def test_x_stops_after_the_first_failing_model(project: pytest.Pytester) -> None:
    """-x stops at the first failing model."""
    shutil.copy(BROKEN, project.path / "models" / "broken2.keras")
    result = project.runpytest("--graphcheck", "models", "-x")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*stopping after 1 failures*"])


def test_fail_on_from_the_command_line_and_the_configuration(project: pytest.Pytester) -> None:
    """A warning passes with fail-on=error, given as an option or in [tool.graphcheck]."""
    project.runpytest("--graphcheck", "models", "--graphcheck-fail-on", "error").assert_outcomes(passed=2)
    project.makepyprojecttoml('[tool.graphcheck]\nfail-on = "error"\n')
    project.runpytest("--graphcheck", "models").assert_outcomes(passed=2)
    strict = project.runpytest("--graphcheck", "models", "--graphcheck-fail-on", "warning")
    strict.assert_outcomes(passed=1, failed=1)


def test_findings_below_fail_on_are_a_report_section(project: pytest.Pytester) -> None:
    """A passing model's findings (below fail-on) show with -rP."""
    result = project.runpytest("--graphcheck", "models", "--graphcheck-fail-on", "error", "-rP")
    result.stdout.fnmatch_lines(["*Captured graphcheck call*", f"{GC301}*"])


def test_configuration_selects_and_excludes_as_the_cli_does(project: pytest.Pytester) -> None:
    """[tool.graphcheck] ignore silences the rule; extend-exclude and .gitignore drop the file."""
    project.makepyprojecttoml('[tool.graphcheck]\nignore = ["units-equal-timesteps"]\n')
    project.runpytest("--graphcheck", "models").assert_outcomes(passed=2)
    project.makepyprojecttoml('[tool.graphcheck]\nextend-exclude = ["broken.keras"]\n')
    project.runpytest("--graphcheck", "models").assert_outcomes(passed=1)
    (project.path / "pyproject.toml").unlink()
    (project.path / ".git").mkdir()  # a repository's .gitignore, read from its root down
    (project.path / ".gitignore").write_text("broken.keras\n")
    project.runpytest("--graphcheck", "models").assert_outcomes(passed=1)


def test_a_configuration_error_is_a_usage_error(project: pytest.Pytester) -> None:
    """A misspelt rule in [tool.graphcheck] stops the run as the CLI does (pytest: exit 4)."""
    project.makepyprojecttoml('[tool.graphcheck]\nselect = ["units-equal-timestep"]\n')
    result = project.runpytest("--graphcheck", "models")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown rule 'units-equal-timestep'*did you mean*"])


def test_a_folder_model_is_one_item(pytester: pytest.Pytester) -> None:
    """An unzipped .keras folder is one model, not a folder of files to collect."""
    shutil.copytree(FOLDER, pytester.path / "models" / "question")
    result = pytester.runpytest("--graphcheck", "models", "--collect-only", "-q")
    assert [line for line in result.stdout.lines if "::" in line] == ["models/question::graphcheck"]
    pytester.runpytest("--graphcheck", "models").assert_outcomes(passed=1)


def test_the_same_answer_as_the_cli(project: pytest.Pytester) -> None:
    """The item fails exactly for the files `graphcheck check` fails, with the same lines."""
    cli = subprocess.run([sys.executable, "-m", "graphcheck", "check", "models", "--quiet"],
                         cwd=project.path, capture_output=True, text=True, check=False)
    assert cli.returncode == 1
    result = project.runpytest("--graphcheck", "models")
    for line in cli.stdout.splitlines():
        assert line in result.stdout.lines


def test_startup_costs_nothing_without_the_flag(pytester: pytest.Pytester) -> None:
    """Without --graphcheck, a pytest run imports nothing of graphcheck's analysis."""
    pytester.makeconftest("""
        import sys
        def pytest_unconfigure(config):
            loaded = sorted(m for m in sys.modules if m.startswith("graphcheck") and m != "graphcheck")
            open("loaded.txt", "w").write(" ".join(loaded))
    """)
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
    assert (pytester.path / "loaded.txt").read_text().split() == ["graphcheck.pytest_plugin"]


def test_plugin_module_imports_only_pytest() -> None:
    """The plugin module's top level imports pytest and the standard library, nothing else."""
    source = (ROOT / "graphcheck" / "pytest_plugin.py").read_text()
    top = source.split("if TYPE_CHECKING:")[0]
    assert re.findall(r"^(?:from|import) (\S+)", top, re.M) == [
        "__future__", "os", "dataclasses", "pathlib", "typing", "pytest"]


def _doc_blocks(text: str) -> list[tuple[str, str]]:
    """Return the (language, body) of each fenced block of a Markdown page, in order."""
    return re.findall(r"^```(\w+)\n(.*?)^```$", text, re.M | re.S)


def _pattern(line: str) -> str:
    """Turn a documented output line into an fnmatch pattern: ``...`` and timings match anything."""
    line = re.sub(r" in \d+\.\d+s ", " in ...s ", line.rstrip())
    return line.replace("[", "[[]").replace("...", "*")


def test_docs_pytest_md_commands_run_as_shown(project: pytest.Pytester) -> None:
    """Each docs/pytest.md command gives the output shown; a toml block is the project's config."""
    ran = 0
    for language, body in _doc_blocks((ROOT / "docs" / "pytest.md").read_text()):
        if language == "toml":
            project.makepyprojecttoml(body)
            continue
        command, *shown = body.splitlines()
        assert command.startswith("$ pytest "), command
        result = project.runpytest(*command.split()[2:])
        result.stdout.fnmatch_lines([_pattern(line) for line in shown if line.strip() not in ("", "...")])
        ran += 1
    assert ran == 6


def _model_of(where: str, paths: list[str]) -> str:
    """Return the model a text finding's ``path[:node]`` is about (node names may hold colons)."""
    return next(p for p in paths if where == p or where.startswith(p + ":"))


def test_every_fixture_fails_exactly_when_the_cli_fails_it() -> None:
    """Over all of fixtures/: the same models, and the same ones failing, as `graphcheck check`."""
    def run(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                              text=True, check=False, timeout=600).stdout

    shown = run("graphcheck", "check", "fixtures", "--show-files").splitlines()
    cli = run("graphcheck", "check", "fixtures", "--quiet")
    failing = {_model_of(line.split(": GC")[0], shown) for line in cli.splitlines()
               if re.search(r": GC\w+ \[(warning|error)\] ", line)}
    tests = run("pytest", "--graphcheck", "fixtures", "-p", "no:cacheprovider", "-q", "-rfE")
    failed = set(re.findall(r"^FAILED (.+)::graphcheck", tests, re.M))
    assert failed == failing and len(failing) > 10
    assert f"{len(failing)} failed, {len(shown) - len(failing)} passed" in tests


def test_xdist_workers_run_the_same_items(project: pytest.Pytester) -> None:
    """With pytest-xdist (-n 2) the same models pass and fail, reported with their findings."""
    pytest.importorskip("xdist")
    result = project.runpytest_subprocess("--graphcheck", "models", "-n", "2", "-p",
                                          "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([f"{GC301}*", "FAILED models/broken.keras::graphcheck*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
