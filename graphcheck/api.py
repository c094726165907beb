"""The Python API: ``check``, ``explain`` and their in-memory twins, answering exactly as the CLI.

Every function goes through the command line's own code: the same request from the same
options (``config_cli.request_for``), the same folder walk and excludes (``walk_for``,
``discovery.discover``), the same per-file configuration (``prepare``), the same runner and
the same fail threshold. Only the way errors surface differs: a usage error is a
``ConfigError`` (or ``FileNotFoundError``) instead of exit 2.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from graphcheck.findings import Finding, Severity

if TYPE_CHECKING:
    from graphcheck.compare.report import DiffReport
    from graphcheck.config import Request
    from graphcheck.explanations.report import ModelReport
    from graphcheck.results import FileResult
    from graphcheck.settings import Settings

PathLike: TypeAlias = "str | os.PathLike[str]"
Selectors: TypeAlias = "str | Sequence[str] | None"
SeverityName = Literal["error", "warning", "note"]
# config=False: use no configuration file at all (the CLI's --no-config).
ConfigChoice: TypeAlias = "PathLike | Literal[False] | None"


@dataclass(frozen=True, kw_only=True)
class Report:
    """The answer of a check: every file's findings, and the exit code the CLI would give."""

    files: tuple[FileResult, ...]
    exit_code: int
    fail_on: Severity

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Return every finding of every file, in the CLI's order."""
        return tuple(f for result in self.files for f in result.findings)

    def to_dict(self) -> dict[str, Any]:
        """Return the ``graphcheck check --format json`` document as data."""
        from graphcheck import __version__
        from graphcheck.reporters.json import check_document

        return check_document(self.files, __version__)

    def _repr_markdown_(self) -> str:
        """Render the findings as the markdown reporter does (Jupyter)."""
        from graphcheck.notebook import check_markdown

        return check_markdown(self.files)

    def _repr_html_(self) -> str:
        """Render the findings as an HTML table (Jupyter)."""
        from graphcheck.notebook import check_html

        return check_html(self.files)


def check(*paths: PathLike, config: ConfigChoice = None, select: Selectors = None,
          ignore: Selectors = None, fail_on: SeverityName | Severity | None = None,
          jobs: int | None = None) -> Report:
    """Check model files and folders as ``graphcheck check PATH...`` does (``jobs``: ``--jobs``)."""
    from graphcheck.discovery import discover
    from graphcheck.runner import check_all, default_jobs

    if not paths:
        raise ValueError("check() needs at least one path (a model file or a folder)")
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    names = [_existing(path) for path in paths]
    request = _request(config, select, ignore)
    targets = discover(names, _cli(lambda: _walk(request)))
    settings = _cli(lambda: _prepare(request, targets))
    try:
        results = check_all(targets, settings, jobs or default_jobs())
    except SystemExit as stop:  # the runner's answer to Ctrl-C/SIGTERM (exit 130/143) for the CLI
        raise KeyboardInterrupt(f"graphcheck.check interrupted (exit {stop.code})") from None
    return _report(request, results, fail_on)


def check_model(obj: object, *, config: ConfigChoice = None, select: Selectors = None,
                ignore: Selectors = None, fail_on: SeverityName | Severity | None = None,
                name: str | None = None) -> Report:
    """Check a model held in memory (keras.Model, onnx.ModelProto or a config dict) as its file."""
    from graphcheck.results import FileResult

    request = _request(config, select, ignore)
    settings = _cli(lambda: _prepare(request, [])).for_file(request.cwd)
    result = _checked(obj, name or _display(obj), settings)
    # Findings only, as check() keeps (its worker drops the graph): explain_model has the rest.
    return _report(request, [FileResult(path=result.path, findings=result.findings,
                                        rules=result.rules)], fail_on)


def explain(path: PathLike) -> ModelReport:
    """Explain one model file as ``graphcheck explain PATH`` does (its element of the JSON array)."""
    from graphcheck.config_cli import walk_for
    from graphcheck.discovery import discover
    from graphcheck.engine import load_plugins
    from graphcheck.runner import explain_all
    from graphcheck.settings import Settings

    load_plugins()
    targets = discover([_existing(path)], _cli(lambda: walk_for(None, WALK_DEFAULTS)))
    if len(targets) != 1:
        found = ", ".join(t.display for t in targets) or "none"
        raise ValueError(f"explain() takes one model; {os.fspath(path)} holds {len(targets)} "
                         f"({found}): explain each")
    return explain_all(targets, Settings(), jobs=1)[0]


def explain_model(obj: object, *, name: str | None = None) -> ModelReport:
    """Explain a model held in memory (keras.Model, onnx.ModelProto or a config dict)."""
    from graphcheck.engine import load_plugins
    from graphcheck.explanations.build import build
    from graphcheck.settings import Settings

    load_plugins()
    return build(_checked(obj, name or _display(obj), Settings()))


def diff(reference: PathLike, candidate: PathLike, *, atol: float | None = None) -> DiffReport:
    """Verify an export statically, as ``graphcheck diff REFERENCE CANDIDATE`` does.

    ``.verdict``, ``.pairs``, ``.findings``, ``.exit_code(fail_on)`` and ``.to_dict()`` (the
    ``--format json`` document). Files that cannot be compared raise ``DiffError``.
    """
    from graphcheck.compare import run
    from graphcheck.engine import load_plugins

    load_plugins()
    candidate_name = _existing(candidate)
    return run(Path(_existing(reference)), Path(candidate_name), atol=atol, display=candidate_name)


# Options as the CLI receives them when none is given: the API changes only what it names.
REQUEST_DEFAULTS: Mapping[str, Any] = {
    "select": (), "ignore": (), "extend_select": (), "config_file": None, "no_config": False,
    "trust_config": False, "baseline": None, "write_baseline": False}
WALK_DEFAULTS: Mapping[str, Any] = {
    "exclude": (), "extend_exclude": (), "gitignore": True, "force_exclude": False}


def _request(config: ConfigChoice, select: Selectors, ignore: Selectors) -> Request:
    """Return the CLI's request for these options (selectors validated as --select's are)."""
    from graphcheck.config_cli import request_for

    config_file = None if config is None or config is False else _existing(config)
    if config_file is not None and Path(config_file).is_dir():
        raise IsADirectoryError(f"config= names a folder, not a toml file: {config_file}")
    options = {**REQUEST_DEFAULTS, "select": _selectors(select), "ignore": _selectors(ignore),
               "config_file": config_file, "no_config": config is False}
    request: Request = _cli(lambda: request_for(options))
    return request


def _walk(request: Request) -> Any:
    """Return the CLI's folder walk (configured excludes, .gitignore) for the request."""
    from graphcheck.config_cli import walk_for

    return walk_for(request, WALK_DEFAULTS)


def _prepare(request: Request, targets: Sequence[Any]) -> Settings:
    """Return the CLI's run settings, every target's configuration validated."""
    from graphcheck.config_cli import prepare

    settings: Settings = prepare(request, targets)
    return settings


def _cli(step: Any) -> Any:
    """Run a step of the CLI's; its usage error is raised as the ConfigError behind it."""
    import click

    from graphcheck.config import ConfigError

    try:
        return step()
    except click.UsageError as error:
        cause = error.__cause__
        raise (cause if isinstance(cause, ConfigError) else ConfigError(error.message)) from None


def _selectors(value: Selectors) -> tuple[str, ...]:
    """Return selectors as the repeatable --select option gives them (commas allowed)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not all(isinstance(v, str) for v in value):
        raise TypeError(f"selectors must be strings (codes, prefixes or rule names), got {value!r}")
    return tuple(value)


def _existing(path: PathLike) -> str:
    """Return a path as the CLI receives it, refusing a missing one as click does."""
    name = os.fspath(path)
    if not os.path.lexists(name):
        raise FileNotFoundError(f"no such file or directory: {name!r}")
    return name


def _threshold(request: Request, fail_on: SeverityName | Severity | None) -> Severity:
    """Return the severity that fails the run: fail_on, else the configuration's, else warning."""
    from graphcheck.config_cli import fail_threshold

    if fail_on is not None and str(fail_on) not in ("error", "warning", "note"):
        raise ValueError(f"fail_on must be 'error', 'warning' or 'note', got {fail_on!r}")
    return fail_threshold(request, None if fail_on is None else str(fail_on))


def _report(request: Request, results: Sequence[FileResult],
            fail_on: SeverityName | Severity | None) -> Report:
    """Return the report with the CLI's exit code for these results."""
    threshold = _threshold(request, fail_on)
    failed = any(request.fails(f, threshold) for r in results for f in r.findings)
    return Report(files=tuple(results), exit_code=1 if failed else 0, fail_on=threshold)


# Models in memory.


def _display(obj: object) -> str:
    """Name a model in memory for its findings: ``<keras.Model question>``."""
    from graphcheck.loaders.memory import framework_of

    framework = framework_of(obj)
    if framework == "onnx":
        graph = getattr(obj, "graph", None)
        return f"<onnx.ModelProto {getattr(graph, 'name', '') or 'model'}>"
    if isinstance(obj, Mapping):
        inner = obj.get("config")
        named = inner.get("name") if isinstance(inner, Mapping) else None
        return f"<config {named or obj.get('class_name', 'model')}>"
    return f"<{framework or type(obj).__module__}.Model {getattr(obj, 'name', 'model')}>"


def _checked(obj: object, display: str, settings: Settings) -> FileResult:
    """Analyse a model in memory with the settings given, as its saved file would be."""
    from graphcheck.engine import check_loaded
    from graphcheck.loaders import memory

    framework = memory.framework_of(obj)
    if framework == "onnx" and callable(getattr(obj, "SerializeToString", None)):
        return _checked_onnx(obj, display, settings)
    if isinstance(obj, Mapping):
        return check_loaded(lambda: memory.config_model(obj, display), display, settings)
    if framework in ("keras", "tf_keras"):
        return check_loaded(lambda: memory.keras_model(obj, display), display, settings)
    raise TypeError(f"cannot check a {type(obj).__module__}.{type(obj).__name__}: pass a "
                    "keras.Model, an onnx.ModelProto or a Keras config dict (model.to_json() parsed)")


def _checked_onnx(proto: Any, display: str, settings: Settings) -> FileResult:
    """Check a ModelProto through the ONNX file loader, from a private temporary copy."""
    import tempfile

    from graphcheck.engine import check_path

    # The file loader reads the wire format with its bounds; a temporary copy keeps one path.
    with tempfile.TemporaryDirectory(prefix="graphcheck-") as folder:
        path = Path(folder) / "model.onnx"
        path.write_bytes(proto.SerializeToString())
        return check_path(path, display, settings)
