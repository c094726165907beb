"""The pipeline: load -> infer shapes -> run rules -> findings."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from graphcheck import plugins
from graphcheck.findings import Finding, LoadError, Problem, traceback_text
from graphcheck.graph import Model
from graphcheck.limits import using as using_limits
from graphcheck.loaders import LOADER_PROTOCOL, Loader, read_head, sniff_bytes
from graphcheck.plugins import entry_points_in
from graphcheck.results import FileResult
from graphcheck.rule_names import RuleName
from graphcheck.rules import Context, Hit, Rule
from graphcheck.rules.registry import all_rules, find_rule
from graphcheck.settings import DEFAULT as DEFAULT_SETTINGS
from graphcheck.settings import Settings
from graphcheck.shapes.propagate import Inference, infer

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint


@cache
def loaders() -> tuple[Loader, ...]:
    """Return the registered loaders (``graphcheck.loaders`` group) in priority order."""
    found: list[tuple[int, str, Loader]] = [
        (loader.priority, point.name, loader) for point in entry_points_in("graphcheck.loaders")
        for loader in [plugins.load(point, is_loader, LOADER_PROTOCOL)]]
    return tuple(loader for _, _, loader in sorted(found, key=lambda item: item[:2]))


def is_loader(target: object) -> bool:
    """Return True for an object offering what the Loader protocol asks for."""
    return (isinstance(getattr(target, "name", None), str)
            and isinstance(getattr(target, "priority", None), int)
            and isinstance(getattr(target, "suffixes", None), frozenset)
            and all(callable(getattr(target, method, None)) for method in ("sniff", "finds", "load")))


def load_plugins() -> None:
    """Load every loader, rule and shape plugin now, so that a broken one stops a run before it starts."""
    loaders()
    all_rules()
    shape_plugins()


# graphcheck's own shape packages: imported when a model of their framework is analysed (a
# Keras run never imports the ONNX ones), only located up front.
BUILTIN_SHAPES = "graphcheck.shapes."


@cache
def shape_plugins() -> None:
    """Import the plugins' ``graphcheck.shapes`` entry points; check that graphcheck's own are there."""
    for point in entry_points_in("graphcheck.shapes"):
        if not plugins.builtin(point, BUILTIN_SHAPES):
            _import_shapes(point)


@cache
def import_shape_functions(framework: str | None = None) -> None:
    """Import the ``graphcheck.shapes`` entry points named ``framework`` (None: all of them).

    They register shape functions on import; kept out of module import so that ``--help`` stays fast.
    """
    shape_plugins()
    for point in entry_points_in("graphcheck.shapes"):
        if framework is None or point.name == framework:
            _import_shapes(point)


def _import_shapes(point: EntryPoint) -> None:
    """Import one ``graphcheck.shapes`` entry point, which must name a module."""
    plugins.load(point, lambda target: isinstance(target, ModuleType), "a module of shape functions")


def load(path: Path, weights: Path | None = None) -> Model:
    """Pick a loader by content and load the file, or raise LoadError saying what it is."""
    if not path.exists():
        raise LoadError("no such file or directory")
    if weights is not None:  # an architecture and its save_weights file, checked together
        from graphcheck.loaders.keras_pair import load_pair

        return load_pair(path, weights)
    head = read_head(path)
    sniffed = sniff_bytes(head)
    if sniffed.kind == "lfs":
        raise LoadError("this is a Git LFS pointer, not the model: run `git lfs pull`",
                        rule=RuleName.LFS_POINTER)
    loader = loader_for(path, head)
    if loader is not None:
        return loader.load(path)
    raise LoadError(f"{path.name} is {sniffed.description}, not a Keras or ONNX model")


def loader_for(path: Path, head: bytes) -> Loader | None:
    """Return the first loader, in priority order, that takes the file for its format."""
    return next((loader for loader in loaders() if loader.sniff(path, head)), None)


def finding(path: str, problem: Problem) -> Finding:
    """Turn a stage's problem into a finding with the rule's code, severity and message format."""
    rule = find_rule(problem.rule)
    assert rule is not None, f"problem names unknown rule {problem.rule}"
    return hit_finding(path, rule, Hit(node=problem.node, fields={"message": problem.message},
                                       detail=problem.detail))


def hit_finding(path: str, rule: type[Rule], hit: Hit) -> Finding:
    """Return the finding of one hit: the rule's identity, and its template formatted."""
    return Finding(path=path, code=rule.code, rule=rule.name, severity=rule.severity,
                   node=hit.node, message=rule.message(hit), confidence=rule.confidence,
                   detail=hit.detail)


def crashed(where: str, error: Exception) -> Problem:
    """Return the internal-error problem for an exception, keeping its (bounded) traceback."""
    return Problem(rule=RuleName.INTERNAL_ERROR, node=None, detail=traceback_text(error),
                   message=f"{where} failed: {type(error).__name__}: {error}")


def check_path(path: Path, display: str, settings: Settings = DEFAULT_SETTINGS, *,
               weights: Path | None = None) -> FileResult:
    """Analyse one file with the settings its configuration gives, dropping suppressed findings."""
    return check_loaded(lambda: load(path, weights), display, settings.for_file(path))


def check_loaded(loading: Callable[[], Model], display: str, settings: Settings) -> FileResult:
    """Analyse the model ``loading`` returns (a file's, or one in memory), dropping suppressed findings."""
    with fewer_collections():
        result = _check_loaded(loading, display, settings)
    result.findings = [f for f in result.findings if settings.selection.reports(f)]
    result.rules = frozenset(rule.name for rule in enabled_rules(settings))
    return result


# The cyclic collector's first-generation threshold while a model is analysed. A model's graph is
# tens of thousands of small long-lived objects (layers, configs, shapes) and almost no cycles:
# at Python's default (700) a 10,000-node graph spent ~25% of its CPU in collections finding
# nothing. Raised, the young generation is still collected, only less often.
ANALYSIS_GC_THRESHOLD = 100_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect cyclic garbage less often while a model is analysed; restore the thresholds after."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], ANALYSIS_GC_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _check_loaded(loading: Callable[[], Model], display: str, settings: Settings) -> FileResult:
    """Load and analyse one model; every failure becomes a finding, never an exception."""
    shape_plugins()
    with using_limits(settings.limits):
        try:
            model = loading()
        except LoadError as error:
            problem = Problem(rule=error.rule, node=None, message=str(error))
            return FileResult(path=display, findings=[finding(display, problem)])
        except Exception as error:
            return FileResult(path=display, findings=[finding(display, crashed("loading", error))])
        return analyse(model, display, settings)


def analyse(model: Model, display: str, settings: Settings = DEFAULT_SETTINGS) -> FileResult:
    """Infer shapes and run the enabled rules over a loaded model."""
    import_shape_functions(model.framework)
    try:
        inference = infer(model)
    except Exception as error:
        inference = Inference(problems=[crashed("shape inference", error)])
    findings = run_rules(model, inference, display, settings)
    return FileResult(path=display, findings=findings, model=model, inference=inference)


def run_rules(model: Model, inference: Inference, display: str,
              settings: Settings) -> list[Finding]:
    """Run each enabled rule; an exception inside one becomes an internal-error finding."""
    findings: list[Finding] = []
    for rule in enabled_rules(settings):
        ctx = Context(model=model, inference=inference, options=settings.options.get(rule.name, {}))
        try:
            findings += [hit_finding(display, rule, hit) for hit in rule().check(ctx)]
        except Exception as error:
            findings.append(finding(display, crashed(f"rule {rule.code} {rule.name}", error)))
    # Graph (topological) order puts a cause (an LSTM) before its symptoms (the Dense after it).
    rank = {name: index for index, name in enumerate(inference.nodes)}
    return sorted(findings, key=lambda f: (-1 if f.node is None else rank.get(f.node, len(rank)),
                                           f.node or "", f.code, f.message))


def enabled_rules(settings: Settings) -> Iterable[type[Rule]]:
    """Return the rules that settings select for the file, in code order."""
    return [r for r in all_rules() if settings.selection.runs(r.code, r.name)]
