"""Rules: each a small class with its code, name, documentation and its own test cases."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from graphcheck.findings import Confidence, Severity
from graphcheck.graph import Model
from graphcheck.rule_names import RuleName
from graphcheck.shapes.propagate import Inference

T = TypeVar("T")


def typed(config: Mapping[str, Any], key: str, kind: type[T]) -> T | None:
    """Return ``config[key]`` if it is a ``kind`` (an int counts as a float, a bool as neither), else None."""
    value = config.get(key)
    if isinstance(value, bool) and kind is not bool:
        return None
    if kind is float and isinstance(value, int):
        value = float(value)
    # Shape functions report the values that make a model invalid; rules must not trip on them.
    return value if isinstance(value, kind) else None


@dataclass(frozen=True, kw_only=True)
class Hit:
    """What a rule reports: where, and the fields of its template; the engine formats the message."""

    node: str | None
    fields: Mapping[str, Any] = field(default_factory=dict)
    variant: str = ""  # a key of the rule's ``variants`` when the hit is not worded by ``template``
    detail: str | None = None  # internal-error: the traceback, passed on from the problem


@dataclass(frozen=True, kw_only=True)
class Context:
    """What every rule sees: the model, the inferred shapes and the rule's options."""

    model: Model
    inference: Inference
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Case:
    """A rule's own example: a model config (plus stored weight shapes), or a file, and where it fires."""

    model: Mapping[str, Any] = field(default_factory=dict)
    weights: Mapping[str, Mapping[str, tuple[int, ...]]] | None = None
    nodes: tuple[str | None, ...] = ()  # None: a finding on the file as a whole
    contains: str = ""
    # For problems found while reading a file (an LFS pointer, an HDF5 of weights only): writes
    # the file into the folder it is given and returns its path; the case then checks that file.
    file: Callable[[Path], Path] | None = None


class Rule:
    """Base class of every rule; subclasses set the class attributes and ``check``."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    confidence: ClassVar[Confidence] = Confidence.HIGH
    summary: ClassVar[str]
    template: ClassVar[str]
    # Other wordings of the same rule, by key, for hits of a different shape (see UnsafeCode).
    variants: ClassVar[Mapping[str, str]] = {}
    what: ClassVar[str]
    why: ClassVar[str]
    example: ClassVar[str]
    fix: ClassVar[str]
    options: ClassVar[Mapping[str, Any]] = {}
    # "analysis": the file could not be (fully) analysed, rather than a defect in the model.
    category: ClassVar[str] = "finding"
    VALID: ClassVar[tuple[Case, ...]] = ()
    INVALID: ClassVar[tuple[Case, ...]] = ()

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Yield the rule's hits for one model."""
        raise NotImplementedError

    def hit(self, node: str | None, variant: str = "", **fields: Any) -> Hit:
        """Return a hit on ``node`` whose message is the rule's template filled with ``fields``."""
        return Hit(node=node, fields=fields, variant=variant)

    @classmethod
    def message(cls, hit: Hit) -> str:
        """Return the message a hit reads as: its template (or variant) formatted with its fields."""
        return (cls.variants[hit.variant] if hit.variant else cls.template).format(**hit.fields)

    def problems(self, ctx: Context) -> Iterator[Hit]:
        """Re-emit the problems stages raised under this rule's name; the message is a field."""
        for problem in ctx.inference.problems:
            if problem.rule == self.name:
                yield Hit(node=problem.node, fields={"message": problem.message},
                          variant="problem" if self.variants else "", detail=problem.detail)

    def option(self, ctx: Context, key: str) -> Any:
        """Return one of the rule's options: the configuration's value, else the default."""
        return ctx.options.get(key, self.options[key])

    @classmethod
    def documentation(cls) -> str:
        """Return the rule's documentation in ruff's shape, as ``graphcheck rule`` prints it."""
        return (f"# {cls.name} ({cls.code})\n\n"
                f"Default severity: {cls.severity}. Confidence: {cls.confidence}.\n\n"
                f"## What it does\n{cls.what.strip()}\n\n"
                f"## Why is this bad?\n{cls.why.strip()}\n\n"
                f"## Example\n{cls.example.strip()}\n\n"
                f"## How to fix\n{cls.fix.strip()}\n" + cls._options_section())

    @classmethod
    def _options_section(cls) -> str:
        """Return the ``## Options`` section (configurable thresholds), or nothing."""
        if not cls.options:
            return ""
        lines = [f"- `{key}` (default `{value!r}`)" for key, value in cls.options.items()]
        return (f"\n## Options\nSet in `[tool.graphcheck.rules.{cls.name}]`:\n"
                + "\n".join(lines) + "\n")


class ProblemRule(Rule):
    """A rule whose hits are problems raised while loading or propagating shapes.

    The stage writes the whole message (it knows the layer and what was wrong), so the template is
    ``{message}``; the name must be a ``RuleName``, the constant stages raise problems under.
    """

    template = "{message}"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse a ProblemRule no stage can name: it would never fire."""
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__ and cls.name not in RuleName._value2member_map_:
            raise TypeError(f"ProblemRule {cls.__name__} is named {cls.name!r}, "
                            "which is not a graphcheck.rule_names.RuleName")

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Re-emit the inference problems that carry this rule's name."""
        return self.problems(ctx)
