"""pytest plugin: ``pytest --graphcheck [PATHS]`` checks each model file as one test item.

Registered under the ``pytest11`` entry point group as ``graphcheck``. Without ``--graphcheck``
every hook returns at once and nothing of graphcheck's analysis is imported. With it, the
paths pytest was given are walked once as ``graphcheck check`` walks them (``[tool.graphcheck]``
excludes, ``.gitignore``, which files are models) and pytest's own walk turns each model it
meets into a ``ModelFile`` (a folder model: ``ModelFolder``) holding one ``graphcheck`` item,
whose node id is the model's path: ``-k``, ``--lf`` and xdist work on it like any test.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from _pytest._code.code import ExceptionInfo, TerminalRepr

    from graphcheck.config import Request
    from graphcheck.discovery import Target
    from graphcheck.findings import Finding, Severity
    from graphcheck.settings import Settings

ITEM_NAME = "graphcheck"
SEVERITIES = ("note", "warning", "error")


@dataclass(kw_only=True)
class Run:
    """The session's choices: the models found, their settings and the fail-on threshold."""

    request: Request
    settings: Settings
    threshold: Severity
    targets: dict[str, Target] = field(default_factory=dict)  # by absolute path

    def target(self, path: Path) -> Target | None:
        """Return the model at ``path`` when the walk found one there."""
        return self.targets.get(os.path.abspath(path))


RUN = pytest.StashKey[Run]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--graphcheck`` and ``--graphcheck-fail-on``."""
    group = parser.getgroup("graphcheck", "checking saved models with graphcheck")
    group.addoption("--graphcheck", action="store_true", default=False,
                    help="Check model files (.keras, .h5, .onnx, ...) below the given paths, one "
                         "test per file, as `graphcheck check` would.")
    group.addoption("--graphcheck-fail-on", choices=SEVERITIES, default=None,
                    help="Fail a model's test on findings at least this severe [default: the "
                         "configuration's fail-on, else warning].")


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``graphcheck`` marker, which every model item carries (``-m graphcheck``)."""
    config.addinivalue_line("markers", "graphcheck: a model file checked by graphcheck")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Walk the paths once, as the CLI does; a configuration error stops the run (exit 4)."""
    config = session.config
    if config.getoption("graphcheck"):
        config.stash[RUN] = _prepare(config)


def _paths(config: pytest.Config) -> list[str]:
    """Return the paths pytest was asked to collect, without ``::test`` selectors."""
    paths = [str(arg).split("::")[0] for arg in config.args]
    return paths or [str(config.invocation_params.dir)]


def _prepare(config: pytest.Config) -> Run:
    """Discover the models and validate the configuration of each, as ``graphcheck check`` does."""
    import click

    from graphcheck.config import ConfigError, Request, clear_caches
    from graphcheck.config_cli import prepare, walk_for
    from graphcheck.discovery import discover
    from graphcheck.plugins import PluginError

    clear_caches()
    request = Request(cwd=Path(config.invocation_params.dir))
    walk_options = {"exclude": (), "extend_exclude": (), "gitignore": True, "force_exclude": False}
    try:
        walk = walk_for(request, walk_options)
        targets = discover(_paths(config), walk)
        settings = prepare(request, targets)  # loads every plugin, validates each file's config
        threshold = request.fail_on(config.getoption("graphcheck_fail_on"))
    except (ConfigError, PluginError, click.UsageError) as error:
        raise pytest.UsageError(f"graphcheck: {error}") from error
    from graphcheck.runner import listed

    # HDF5 data claimed by its first bytes is left out here as the CLI leaves it out of a run.
    found = {os.path.abspath(t.path): t for t in listed(targets, settings) if t.weights is None}
    return Run(request=request, settings=settings, threshold=threshold, targets=found)


def _run(config: pytest.Config) -> Run | None:
    """Return this session's run, or None without ``--graphcheck``."""
    return config.stash.get(RUN, None)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect a model file the walk found; anything else is left to other plugins."""
    run = _run(parent.config)
    if run is None or (target := run.target(file_path)) is None:
        return None
    return ModelFile.from_parent(parent, path=file_path, target=target)


@pytest.hookimpl(optionalhook=True)  # pytest >= 8.0; before it, folder models are not collected
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect a folder that is one model (a SavedModel, an unzipped .keras) instead of entering it."""
    run = _run(parent.config)
    if run is None or (target := run.target(path)) is None:
        return None
    collector: pytest.Collector = ModelFolder.from_parent(parent, path=path, target=target)
    return collector


class _OneModel(pytest.Collector):
    """A collector for one model: it holds one item, named ``graphcheck``."""

    def __init__(self, *, target: Target, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target

    def collect(self) -> Iterator[ModelItem]:
        """Yield the model's one item."""
        yield ModelItem.from_parent(self, name=ITEM_NAME, target=self.target)


class ModelFile(_OneModel, pytest.File):
    """A model stored as one file."""


class ModelFolder(_OneModel, pytest.Directory):
    """A model stored as a folder (an unzipped .keras, a SavedModel)."""


class ModelFailed(Exception):
    """A model has findings at or above the fail-on threshold; the message is the findings text."""


class ModelItem(pytest.Item):
    """The check of one model: it fails on findings at or above fail-on."""

    def __init__(self, *, target: Target, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target
        # -k matches the path as given (tests/models/broken.keras), not only its parts.
        self.extra_keyword_matches.add(target.display)
        self.add_marker(ITEM_NAME)

    def runtest(self) -> None:
        """Check the model; findings at or above fail-on fail it, with the findings text as report."""
        from graphcheck.reporters import RenderOptions
        from graphcheck.reporters.text import REPORTER
        from graphcheck.results import FileResult

        run = _run(self.config)
        assert run is not None, "graphcheck items exist only with --graphcheck"
        findings = self._findings(run)
        text = REPORTER.render([FileResult(path=self.target.display, findings=findings)],
                               RenderOptions(quiet=True, verbose=self.config.get_verbosity() > 0))
        failing = [f for f in findings if run.request.fails(f, run.threshold)]
        if failing:
            raise ModelFailed(text + _summary(failing, run.threshold))
        if text:  # findings below fail-on: shown with -rP, like captured output
            self.add_report_section("call", "graphcheck", text)

    def _findings(self, run: Run) -> list[Finding]:
        """Check the model in this process; an exception is an internal-error, as in the CLI."""
        from graphcheck.runner import check_failed, check_target

        try:
            result = check_target(run.settings, self.target)
        except Exception as error:
            return check_failed(self.target, error).findings
        if result is None:  # claimed by its first bytes, but HDF5 data: the CLI leaves it out too
            pytest.skip("not a model: an HDF5 file of data, which graphcheck leaves out")
        return result.findings

    def repr_failure(self, excinfo: ExceptionInfo[BaseException],
                     style: Any = None) -> str | TerminalRepr:
        """Show the findings text, not a traceback into graphcheck."""
        if isinstance(excinfo.value, ModelFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """Name the item by its model's path in reports."""
        return self.path, None, f"graphcheck {self.target.display}"


def _summary(failing: list[Finding], threshold: Severity) -> str:
    """Say why the test failed: how many findings reached the threshold."""
    count = len(failing)
    return f"{count} finding{'' if count == 1 else 's'} at or above fail-on={threshold}"
