"""The pre-commit hook, run by the real pre-commit against a throwaway repository.

The hook repository is this checkout at its committed HEAD (pre-commit clones it and
pip-installs graphcheck with its light dependencies into its own virtualenv).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "keras"
GOOD = FIXTURES / "question.keras"
BROKEN = FIXTURES / "units16_weights32.keras"

Git = Callable[..., subprocess.CompletedProcess[str]]


def head() -> str:
    """Return this checkout's HEAD commit, or skip when it is not a git checkout (an sdist)."""
    found = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                           text=True, check=False)
    if found.returncode != 0 or not (ROOT / ".pre-commit-hooks.yaml").exists():
        pytest.skip("needs a git checkout of graphcheck")
    return found.stdout.strip()


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Isolate git and pre-commit: own config, identity and PRE_COMMIT_HOME (shared per module)."""
    home = tmp_path_factory.mktemp("pre-commit-home")
    (home / "gitconfig").write_text("[safe]\n\tdirectory = *\n[init]\n\tdefaultBranch = main\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.pop("SKIP", None)
    env.update(PRE_COMMIT_HOME=str(home / "cache"), GIT_CONFIG_GLOBAL=str(home / "gitconfig"),
               GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    return env


@pytest.fixture()
def git(tmp_path: Path, environment: dict[str, str]) -> Git:
    """Make a repository whose pre-commit config uses this checkout's hook; return a git runner."""
    config = (f"repos:\n  - repo: {ROOT.as_posix()}\n    rev: {head()}\n"
              "    hooks:\n      - id: graphcheck\n")
    (tmp_path / ".pre-commit-config.yaml").write_text(config)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        """Run a command in the repository and capture everything."""
        tool = [sys.executable, "-m", "pre_commit"] if args[0] == "pre-commit" else ["git", args[0]]
        command = [*tool, *args[1:]]
        return subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True,
                              text=True, check=False, timeout=600)

    assert run("init", "-q").returncode == 0
    installed = run("pre-commit", "install")
    assert installed.returncode == 0, installed.stderr
    assert run("add", ".pre-commit-config.yaml").returncode == 0
    assert run("commit", "-q", "-m", "config").returncode == 0  # no model files: hook skipped
    return run


def commit(git: Git, repo: Path, source: Path, name: str) -> subprocess.CompletedProcess[str]:
    """Add a copy of source under name and try to commit it."""
    shutil.copy(source, repo / name)
    assert git("add", name).returncode == 0
    return git("commit", "-m", f"add {name}")


def commits(git: Git) -> int:
    """Count the commits on the current branch."""
    return int(git("rev-list", "--count", "HEAD").stdout)


def test_commit_with_broken_model_fails(git: Git, tmp_path: Path) -> None:
    """The hook stops a commit of a model whose weights contradict its config (any case suffix)."""
    result = commit(git, tmp_path, BROKEN, "BROKEN.KERAS")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "graphcheck" in output and "Failed" in output and "weight-shape-mismatch" in output
    assert commits(git) == 1


def test_commit_with_good_model_passes(git: Git, tmp_path: Path) -> None:
    """A sound model is committed; the hook ran on it and passed."""
    result = commit(git, tmp_path, GOOD, "model.keras")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "graphcheck" in output and "Passed" in output
    assert commits(git) == 2


def test_hook_ignores_files_that_are_not_models(git: Git, tmp_path: Path) -> None:
    """A commit without model files skips the hook, even a broken model under a .txt name."""
    result = commit(git, tmp_path, BROKEN, "notes.txt")
    assert result.returncode == 0 and "Skipped" in result.stdout + result.stderr


def test_file_names_like_options_stay_file_names(git: Git, tmp_path: Path) -> None:
    """Staged files named --output=... and --baseline=... are checked, not obeyed (issue 18).

    Without the hook's `--` the first would overwrite victim.keras with the report and the
    second would write a baseline hiding every finding.
    """
    shutil.copy(GOOD, tmp_path / "victim.keras")
    assert git("add", "victim.keras").returncode == 0
    assert git("commit", "-q", "-m", "victim").returncode == 0
    before = (tmp_path / "victim.keras").read_bytes()
    for name in ("--output=victim.keras", "--baseline=zz.keras"):
        shutil.copy(BROKEN, tmp_path / name)
    assert git("add", "--", "--output=victim.keras", "--baseline=zz.keras").returncode == 0
    result = git("commit", "-m", "options as names")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Failed" in output, output
    assert "--output=victim.keras:lstm: GC101 [error] weight-shape-mismatch" in output
    assert "--baseline=zz.keras:lstm: GC101 [error] weight-shape-mismatch" in output
    assert (tmp_path / "victim.keras").read_bytes() == before
    assert not (tmp_path / "zz.keras").exists()
    assert commits(git) == 2


def test_hook_skips_weights_only_files(git: Git, tmp_path: Path) -> None:
    """A staged save_weights file is a note, not a failure (issue 11 item 4)."""
    result = commit(git, tmp_path, ROOT / "fixtures/weights/keras2_question_weights.h5", "w.h5")
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "Passed" in output, output


def test_hook_honours_configured_excludes(git: Git, tmp_path: Path) -> None:
    """--force-exclude in the hook: a configured extend-exclude keeps a broken model out."""
    (tmp_path / "pyproject.toml").write_text('[tool.graphcheck]\nextend-exclude = ["legacy/"]\n')
    (tmp_path / "legacy").mkdir()
    assert git("add", "pyproject.toml").returncode == 0
    result = commit(git, tmp_path, BROKEN, "legacy/old.keras")
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "Passed" in output, output
