"""The pipeline: load -> infer shapes -> run rules -> findings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any

from graphcheck.findings import Finding, LoadError, Problem, traceback_text
from graphcheck.graph import Model
from graphcheck.limits import DEFAULT as DEFAULT_LIMITS
from graphcheck.limits import Limits
from graphcheck.limits import using as using_limits
from graphcheck.loaders import Loader, read_head, sniff_bytes
from graphcheck.plugins import entry_points_in
from graphcheck.results import FileResult
from graphcheck.rule_names import RuleName
from graphcheck.rules import Context, Hit, Rule
from graphcheck.rules.registry import all_rules, find_rule
from graphcheck.shapes.propagate import Inference, infer


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Which rules run and with what options (filled from the CLI and configuration)."""

    enabled: frozenset[str] | None = None  # rule names; None means all
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    limits: Limits = DEFAULT_LIMITS
    # layer-name glob -> rule names suppressed on matching layers (per-layer-ignores)
    ignored_layers: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # a graphcheck.config.Request: each file then gets the settings its configuration gives
    config: Any = None

    def for_file(self, path: Path) -> Settings:
        """Return the settings for one file: its configuration applied, when one is in use."""
        return self if self.config is None else self.config.settings_for(path, self)

    def allows(self, found: Finding) -> bool:
        """Return False for a finding whose rule is off, or ignored on its layer."""
        if self.enabled is not None and found.rule not in self.enabled:
            return False
        return not any(found.rule in rules and fnmatchcase(found.node or "", glob)
                       for glob, rules in self.ignored_layers.items())


@cache
def loaders() -> tuple[Loader, ...]:
    """Return the loaders registered in the ``graphcheck.loaders`` entry point group."""
    return tuple(point.load() for point in entry_points_in("graphcheck.loaders"))


def import_shape_functions() -> None:
    """Register the built-in shape functions (kept out of module import for fast --help)."""
    import graphcheck.shapes.keras
    import graphcheck.shapes.onnx  # noqa: F401


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
    for loader in loaders():
        if loader.sniff(path, head):
            return loader.load(path)
    raise LoadError(f"{path.name} is {sniffed.description}, not a Keras or ONNX model")


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


def check_path(path: Path, display: str, settings: Settings = Settings(), *,
               weights: Path | None = None) -> FileResult:
    """Analyse one file with the settings its configuration gives, dropping suppressed findings."""
    settings = settings.for_file(path)
    result = _check_path(path, display, settings, weights)
    result.findings = [f for f in result.findings if settings.allows(f)]
    result.rules = settings.enabled
    return result


def _check_path(path: Path, display: str, settings: Settings, weights: Path | None) -> FileResult:
    """Analyse one file; every failure becomes a finding, never an exception."""
    import_shape_functions()
    with using_limits(settings.limits):
        try:
            model = load(path, weights)
        except LoadError as error:
            problem = Problem(rule=error.rule, node=None, message=str(error))
            return FileResult(path=display, findings=[finding(display, problem)])
        except Exception as error:
            return FileResult(path=display, findings=[finding(display, crashed("loading", error))])
        return analyse(model, display, settings)


def analyse(model: Model, display: str, settings: Settings = Settings()) -> FileResult:
    """Infer shapes and run the enabled rules over a loaded model."""
    import_shape_functions()
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
    """Return the rules that settings enable, in code order."""
    return [r for r in all_rules() if settings.enabled is None or r.name in settings.enabled]
