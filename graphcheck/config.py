"""Configuration: ``[tool.graphcheck]`` in pyproject.toml, graphcheck.toml, or ``--config FILE``.

Each model file uses the nearest configuration above it (like ruff), falling back to the one
above the working directory. Selectors are code prefixes (``GC3``, ``GC301``, ``ALL``) or rule
names. A misspelt key, selector or option is a ``ConfigError`` (the CLI exits 2).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any

from graphcheck import limits as bounds
from graphcheck.findings import Finding, Severity
from graphcheck.rule_names import RuleName
from graphcheck.rules import Rule
from graphcheck.rules.registry import all_rules, find_rule
from graphcheck.safe_io import read_text
from graphcheck.settings import Selection, Settings

# Hard ceilings: no configuration file can lift a limit above these (it may lower any of them).
# A scanned repository writes its own pyproject.toml; without a ceiling it could give a FIFO
# a year to answer or let a zip bomb inflate to gigabytes.
CEILINGS = bounds.Limits(max_json_bytes=256 * bounds.MIB, max_json_depth=500,
                         max_member_bytes=1024 * bounds.MIB, max_zip_members=100_000,
                         max_nodes=1_000_000, max_rank=64, max_dim=2**62, max_h5_objects=2_000_000,
                         max_onnx_bytes=2048 * bounds.MIB, max_onnx_entries=10_000_000,
                         max_onnx_graphs=20_000, max_code_bytes=16 * bounds.MIB,
                         max_read_seconds=120)
# Findings that say the model would run code or is not there at all: a configuration found in
# the scanned tree cannot silence them (a pull request could add one); see docs/security.md.
PROTECTED = frozenset({RuleName.UNSAFE_CODE.value, RuleName.LFS_POINTER.value})

KEYS = ("select", "ignore", "extend-select", "per-file-ignores", "per-layer-ignores", "fail-on",
        "rules", "limits", "exclude", "extend-exclude")
SEVERITIES = tuple(str(s) for s in Severity)


class ConfigError(Exception):
    """A configuration that cannot mean what its author wanted: a usage error."""


@dataclass(frozen=True, kw_only=True)
class Config:
    """One configuration file's ``[tool.graphcheck]`` table, validated."""

    source: Path | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    per_file_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    per_layer_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fail_on: str | None = None
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    limits: bounds.Limits = bounds.DEFAULT
    exclude: tuple[str, ...] | None = None  # replaces the default excludes (.git, .venv, ...)
    extend_exclude: tuple[str, ...] = ()

    @property
    def root(self) -> Path:
        """Return the folder that globs in this configuration are relative to."""
        return self.source.parent if self.source else Path.cwd()


def suggest(word: str, choices: Iterable[str]) -> str:
    """Return a ``; did you mean 'x'?`` hint, or nothing."""
    import difflib  # only for a misspelt key: not worth importing on every run

    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def expand(selector: str, where: str) -> frozenset[str]:
    """Return the rule names a selector (code prefix, ``ALL`` or rule name) stands for."""
    rules = all_rules()
    if selector.upper() == "ALL":
        return frozenset(r.name for r in rules)
    found = frozenset(r.name for r in rules
                      if r.name == selector or r.code.startswith(selector.upper()))
    if not found or not (selector.upper().startswith("GC") or any(r.name == selector for r in rules)):
        hint = suggest(selector, [r.name for r in rules] + [r.code for r in rules])
        raise ConfigError(f"{where}: unknown rule {selector!r}{hint} "
                          "(`graphcheck rules` lists codes and names)")
    return found


def _selectors(value: object, where: str) -> tuple[str, ...]:
    """Validate a list of selectors (a comma-separated string is accepted too)."""
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of rule codes or names, got {value!r}")
    for selector in value:
        expand(selector, where)
    return tuple(value)


def _patterns(value: object, where: str) -> tuple[str, ...]:
    """Validate a list of gitignore-style path patterns."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of path patterns (gitignore syntax), got {value!r}")
    return tuple(value)


def _table(value: object, where: str) -> Mapping[str, tuple[str, ...]]:
    """Validate a ``{glob: [selectors]}`` table."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table of glob = [rules], got {value!r}")
    return {str(k): _selectors(v, f"{where}.{k!s}") for k, v in value.items()}


def _rule_options(value: object, where: str) -> Mapping[str, Mapping[str, Any]]:
    """Validate ``[rules.<name>]`` tables against each rule's declared options and their types."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table of rule tables")
    options: dict[str, Mapping[str, Any]] = {}
    for key, table in value.items():
        rule = _rule_by_key(str(key), where)
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}.{key} must be a table of options")
        for name, setting in table.items():
            _check_option(rule, str(name), setting, f"{where}.{key}")
        options[rule.name] = dict(table)
    return options


def _rule_by_key(key: str, where: str) -> type[Rule]:
    """Find a rule by name or code, or raise with a suggestion."""
    for rule in all_rules():
        if key in (rule.name, rule.code):
            return rule
    raise ConfigError(f"{where}: unknown rule {key!r}{suggest(key, [r.name for r in all_rules()])}")


def _check_option(rule: type[Rule], name: str, value: object, where: str) -> None:
    """Raise unless ``name`` is one of the rule's options and ``value`` has the default's type."""
    if name not in rule.options:
        known = ", ".join(rule.options) or "none"
        raise ConfigError(f"{where}: {rule.name} has no option {name!r}{suggest(name, rule.options)}"
                          f" (its options: {known})")
    default = rule.options[name]
    if type(value) is not type(default):
        raise ConfigError(f"{where}.{name} must be {_kind(default)}, got {value!r}")


def _kind(default: object) -> str:
    """Name the TOML type of an option's default, with its article: ``an integer``."""
    kinds = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
             list: "a list"}
    return kinds.get(type(default), f"a {type(default).__name__}")


def parse(table: Mapping[str, Any], source: Path | None) -> Config:
    """Validate a ``[tool.graphcheck]`` table; every unknown key is an error."""
    where = f"{source or 'configuration'} [tool.graphcheck]"
    for key in table:
        if key not in KEYS:
            raise ConfigError(f"{where}: unknown key {key!r}{suggest(key, KEYS)} "
                              f"(known keys: {', '.join(KEYS)})")
    fail_on = table.get("fail-on")
    if fail_on is not None and fail_on not in SEVERITIES:
        raise ConfigError(f"{where}: fail-on must be one of {', '.join(SEVERITIES)}, got {fail_on!r}")
    files = _table(table.get("per-file-ignores", {}), f"{where} per-file-ignores")
    return Config(
        source=source,
        select=_selectors(table["select"], f"{where} select") if "select" in table else None,
        ignore=_selectors(table.get("ignore", []), f"{where} ignore"),
        extend_select=_selectors(table.get("extend-select", []), f"{where} extend-select"),
        per_file_ignores={k: v for k, v in files.items() if ":" not in k},
        # "model.keras:lstm_2" keys name one layer; accept them in per-file-ignores too.
        per_layer_ignores={**_layer_table(table.get("per-layer-ignores", {}), where),
                           **{k: v for k, v in files.items() if ":" in k}},
        fail_on=fail_on, options=_rule_options(table.get("rules", {}), f"{where} rules"),
        limits=_limits(table.get("limits", {}), f"{where} limits"),
        exclude=_patterns(table["exclude"], f"{where} exclude") if "exclude" in table else None,
        extend_exclude=_patterns(table.get("extend-exclude", []), f"{where} extend-exclude"))


def _limits(value: object, where: str) -> bounds.Limits:
    """Validate ``[limits]``: kebab-case (or snake_case) names of graphcheck.limits.Limits."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table of limits, got {value!r}")
    values = {str(k).replace("-", "_"): v for k, v in value.items()}
    names = bounds.keys()
    for key in values:
        if key not in names:
            kebab = [k.replace("_", "-") for k in names]
            raise ConfigError(f"{where}: unknown limit {key.replace('_', '-')!r}"
                              f"{suggest(key.replace('_', '-'), kebab)} (known: {', '.join(kebab)})")
    try:
        return capped(bounds.from_mapping(values))
    except ValueError as error:
        raise ConfigError(f"{where}: {error}") from None


def capped(limits: bounds.Limits) -> bounds.Limits:
    """Return limits with every value at most its hard ceiling."""
    names = bounds.keys()
    return replace(limits, **{key: min(getattr(limits, key), getattr(CEILINGS, key))
                              for key in names})


def _layer_table(value: object, where: str) -> Mapping[str, tuple[str, ...]]:
    """Validate ``per-layer-ignores``: keys are ``path-glob:layer-glob``."""
    table = _table(value, f"{where} per-layer-ignores")
    for key in table:
        if ":" not in key:
            raise ConfigError(f"{where} per-layer-ignores: key {key!r} must be 'path:layer', "
                              "e.g. \"models/model.keras:lstm_2\"")
    return table


@cache
def load_file(path: Path) -> Config:
    """Read and validate one configuration file (pyproject.toml or graphcheck.toml)."""
    data = _read_toml(path)
    if path.name == "pyproject.toml" or "tool" in data:
        data = data.get("tool", {}).get("graphcheck", {})
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: [tool.graphcheck] must be a table")
    return parse(data, path)


@cache
def find_config(folder: Path) -> Path | None:
    """Return the nearest graphcheck.toml, or pyproject.toml with [tool.graphcheck], upward."""
    for candidate in (folder, *folder.parents):
        own = candidate / "graphcheck.toml"
        if own.is_file():
            return own
        project = candidate / "pyproject.toml"
        if project.is_file() and _has_table(project):
            return project
    return None


def _has_table(pyproject: Path) -> bool:
    """Return True when a pyproject.toml has a [tool.graphcheck] table (others are skipped)."""
    return "graphcheck" in _read_toml(pyproject).get("tool", {})


def _read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; an unreadable or invalid one is a ConfigError."""
    # Imported here: a run with no configuration file (a folder of models) never parses TOML.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    try:
        return tomllib.loads(read_text(path))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read configuration {path}: {error}") from error


@dataclass(frozen=True, kw_only=True)
class Request:
    """What the command line asks for: overrides, and which configuration files to use."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    config_file: Path | None = None
    use_config: bool = True
    # True when the invoking side vouches for discovered configuration (--trust-config); a
    # file pinned with --config is the invoker's own and always trusted.
    trust_config: bool = False
    cwd: Path = field(default_factory=Path.cwd)

    def config_for(self, path: Path | None) -> Config:
        """Return the configuration that governs ``path`` (None: the working directory)."""
        if not self.use_config:
            return Config()
        if self.config_file is not None:
            return load_file(real(self.config_file))
        start = self.cwd if path is None else real(path)
        found = find_config(start if start.is_dir() else start.parent)
        if found is None and path is not None:
            found = find_config(real(self.cwd))
        return load_file(found) if found else Config()

    def settings_for(self, path: Path, base: Settings) -> Settings:
        """Return ``base`` with the selection, options and limits that apply to ``path``."""
        config = self.config_for(path)
        relative = _relative(path, config.root)
        spared = frozenset() if self.trusts(config) else PROTECTED
        layers = {key.rpartition(":")[2]:
                  tuple(sorted(_names(selectors, "per-layer-ignores") - spared))
                  for key, selectors in config.per_layer_ignores.items()
                  if _glob_match(key.rpartition(":")[0], relative)}
        selection = replace(self.selection(config, _matching(config.per_file_ignores, relative)),
                            layer_ignores=layers, kept=self._kept(spared))
        return replace(base, selection=selection, options=config.options, limits=config.limits,
                       config=None)

    def selection(self, config: Config, file_ignores: Sequence[str]) -> Selection:
        """Combine selectors: select (command line over file), plus extend-select, minus ignores."""
        select = self.select if self.select is not None else config.select
        # With an explicit select, failures to analyse a file are still reported.
        always = () if select is None else tuple(
            r.name for r in all_rules() if r.category == "analysis")
        return Selection(select=(*(select or ("ALL",)), *always),
                         extend_select=(*config.extend_select, *self.extend_select),
                         ignore=(*config.ignore, *self.ignore, *file_ignores))

    def _kept(self, spared: frozenset[str]) -> tuple[str, ...]:
        """Return the protected rules the command line alone selects (untrusted: always kept)."""
        alone = self.selection(Config(), ())
        return tuple(sorted(name for name in spared
                            if (rule := find_rule(name)) and alone.runs(rule.code, rule.name)))

    def trusts(self, config: Config) -> bool:
        """Return True when a configuration may silence protected rules: pinned, or vouched for."""
        return config.source is None or self.trust_config or self.config_file is not None

    def fails(self, found: Finding, threshold: Severity) -> bool:
        """Return True when a finding fails the run; protected ones fail whatever fail-on says."""
        if found.severity >= threshold:
            return True
        protected = found.rule in PROTECTED and not self.trusts(self.config_for(None))
        return protected and found.severity >= Severity.WARNING

    def fail_on(self, flag: str | None) -> Severity:
        """Return the --fail-on severity: the flag, else the configuration's, else warning."""
        chosen = flag or self.config_for(None).fail_on or "warning"
        return Severity[chosen.upper()]


def clear_caches() -> None:
    """Forget configuration files read so far (each command-line run starts afresh)."""
    load_file.cache_clear()
    find_config.cache_clear()


def _names(selectors: Iterable[str], where: str) -> set[str]:
    """Expand selectors to rule names."""
    names: set[str] = set()
    for selector in selectors:
        names |= expand(selector, where)
    return names


def _relative(path: Path, root: Path) -> str:
    """Return ``path`` relative to ``root`` in posix form, or absolute when outside it."""
    resolved = real(path)
    try:
        return resolved.relative_to(real(root)).as_posix()
    except ValueError:
        return resolved.as_posix()


def real(path: Path) -> Path:
    """Resolve symlinks in a file's folder, never raising (a link loop stays as it is)."""
    if path.is_dir():
        return Path(os.path.realpath(path))
    return Path(os.path.realpath(path.parent or ".")) / path.name


def _glob_match(pattern: str, relative: str) -> bool:
    """Match a glob against a relative path; a pattern without '/' matches the file name."""
    if "/" not in pattern:
        return fnmatchcase(relative.rpartition("/")[2], pattern)
    return fnmatchcase(relative, pattern.removeprefix("./"))


def _matching(table: Mapping[str, tuple[str, ...]], relative: str) -> list[str]:
    """Return the selectors of every glob in ``table`` that matches the file."""
    return [s for glob, selectors in table.items() if _glob_match(glob, relative) for s in selectors]


def cli_selectors(values: Sequence[str], flag: str) -> tuple[str, ...]:
    """Validate repeatable, comma-separated ``--select``/``--ignore`` values."""
    return _selectors([v.strip() for value in values for v in value.split(",") if v.strip()], flag)
