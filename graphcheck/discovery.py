"""Find the models below the paths a user names: by suffix and content, honouring ignores."""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from graphcheck.loaders import read_head, sniff_bytes
from graphcheck.loaders.h5_kind import file_kind

if TYPE_CHECKING:  # imported where used: checking one file should not pay for it
    import pathspec

MODEL_SUFFIXES = frozenset({".keras", ".h5", ".hdf5", ".onnx"})
HDF5_SUFFIXES = frozenset({".h5", ".hdf5"})
# Folders no one keeps models in that can be huge: VCS data, virtualenvs, tool caches.
DEFAULT_EXCLUDES = (".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__",
                    ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis")
HEAD_BYTES = 4096
# model.to_json() starts with "module" (Keras 3) or "class_name" (tf_keras, sorted keys).
KERAS_JSON = re.compile(rb'^\s*\{\s*"(module|class_name)"\s*:')


@dataclass(frozen=True, kw_only=True)
class Target:
    """One model to check: where it is and how to name it in the output."""

    path: Path
    display: str
    weights: Path | None = None  # a save_weights file to check against the architecture at path


def normalise(pattern: str) -> str:
    """Return a gitignore pattern as users mean it: ``./x`` is ``/x``, anchored where it was written."""
    pattern = pattern.strip()
    if not pattern.startswith("./"):
        return pattern
    while pattern.startswith("./"):
        pattern = pattern[2:]
    return "/" + pattern if pattern else ""


@dataclass(frozen=True, kw_only=True)
class Patterns:
    """Gitignore-style exclude patterns and the folder they are relative to.

    ``base`` None means the folder being walked (or, for a file named on the command line,
    the path as given).
    """

    patterns: tuple[str, ...]
    base: Path | None = None

    @cached_property
    def spec(self) -> pathspec.GitIgnoreSpec:
        """Compile the patterns once."""
        import pathspec

        return pathspec.GitIgnoreSpec.from_lines([normalise(p) for p in self.patterns])

    def match(self, path: Path, relative: str, is_dir: bool) -> bool:
        """Return True when a pattern matches; ``relative`` is the path below the walked folder."""
        if self.base is not None:
            shown = os.path.relpath(os.path.abspath(path), self.base).replace(os.sep, "/")
            relative = path.name if shown.startswith("../") or shown == ".." else shown
        return self.spec.match_file(relative + ("/" if is_dir else ""))


@dataclass(frozen=True, kw_only=True)
class Walk:
    """How paths are walked: excludes, whether .gitignore files count, named files excluded."""

    exclude: tuple[str, ...] = ()  # patterns relative to each walked folder
    excludes: tuple[Patterns, ...] = ()  # patterns from configuration and the command line
    defaults: bool = True  # DEFAULT_EXCLUDES too (a configured or given ``exclude`` replaces them)
    gitignore: bool = True
    force_exclude: bool = False  # apply the excludes to files named on the command line too

    @cached_property
    def patterns(self) -> tuple[Patterns, ...]:
        """Return every set of exclude patterns in force."""
        found = [Patterns(patterns=DEFAULT_EXCLUDES)] if self.defaults else []
        return (*found, Patterns(patterns=self.exclude), *self.excludes)

    def excluded(self, path: Path, relative: str, is_dir: bool) -> bool:
        """Return True when an exclude pattern drops this path."""
        return any(p.match(path, relative, is_dir) for p in self.patterns)


def discover(paths: Sequence[str], walk: Walk = Walk()) -> list[Target]:
    """Return every model the paths name or hold, deduplicated and sorted by display path."""
    found: dict[str, Target] = {}
    for given in paths:
        root = Path(given)
        if root.is_dir() and not is_model_dir(root):
            targets: Iterator[Target] = _Walker(root, given, walk).targets()
        elif walk.force_exclude and walk.excluded(root, _as_given(given), root.is_dir()):
            continue
        else:  # named explicitly: checked whatever it is and whatever .gitignore says
            targets = iter([Target(path=root, display=given)])
        for target in targets:
            found.setdefault(os.path.normpath(target.path), target)
    return sorted(found.values(), key=lambda t: t.display)


def _as_given(given: str) -> str:
    """Return a named path in the posix form exclude patterns are matched against."""
    return PurePosixPath(os.path.normpath(given).replace(os.sep, "/")).as_posix().lstrip("/")


def is_model_dir(path: Path) -> bool:
    """Return True for a folder a loader reads as one model (unzipped .keras, SavedModel)."""
    from graphcheck.engine import loaders

    return any(loader.sniff(path, b"") for loader in loaders())


def is_model_file(path: Path) -> bool:
    """Return True for a file with a model suffix, or whose content says it is a model."""
    suffix = path.suffix.lower()
    if suffix in MODEL_SUFFIXES - HDF5_SUFFIXES:
        return True
    if not path.is_file():  # sockets, FIFOs (a read would block), broken links
        return False
    try:
        head = read_head(path, HEAD_BYTES)
    except OSError:
        return suffix in MODEL_SUFFIXES
    if sniff_bytes(head).kind == "hdf5":  # weights-only files are noted, data files skipped
        return file_kind(path) != "data"
    if suffix in MODEL_SUFFIXES:  # named like a model: checking it says what is wrong
        return True
    if suffix == ".json":  # only configs from model.to_json(), not every JSON in a repo
        return KERAS_JSON.match(head) is not None and b'"class_name"' in head
    kind = sniff_bytes(head).kind
    if kind == "zip":
        return _is_keras_zip(path)
    return kind == "onnx"


def _is_keras_zip(path: Path) -> bool:
    """Return True for a zip whose directory lists config.json (not .npz, wheels, jars)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "config.json" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


@dataclass
class _Ignores:
    """The .gitignore specs that apply in one folder, deepest last."""

    specs: list[tuple[Path, pathspec.GitIgnoreSpec]] = field(default_factory=list)

    def ignored(self, path: Path, is_dir: bool) -> bool:
        """Apply git's rule: the deepest .gitignore with a matching pattern decides."""
        for base, spec in reversed(self.specs):
            rel = path.relative_to(base).as_posix() + ("/" if is_dir else "")
            verdict = spec.check_file(rel).include
            if verdict is not None:
                return verdict
        return False

    def below(self, folder: Path) -> _Ignores:
        """Return the specs for a subfolder: these plus its own .gitignore, if any."""
        spec = _read_spec(folder / ".gitignore")
        return _Ignores([*self.specs, (folder, spec)]) if spec else self


def _read_spec(file: Path) -> pathspec.GitIgnoreSpec | None:
    """Parse one ignore file; a missing or unreadable one ignores nothing."""
    try:
        lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)


def _ancestor_ignores(root: Path) -> _Ignores:
    """Collect .gitignore files (and .git/info/exclude) from the repository root down to root."""
    root = root.resolve()
    chain = [root, *root.parents]
    top = next((i for i, folder in enumerate(chain) if (folder / ".git").exists()), None)
    if top is None:
        return _Ignores().below(root)
    ignores = _Ignores()
    exclude = _read_spec(chain[top] / ".git" / "info" / "exclude")
    if exclude:
        ignores = _Ignores([(chain[top], exclude)])
    for folder in reversed(chain[: top + 1]):
        ignores = ignores.below(folder)
    return ignores


@dataclass(frozen=True)
class _Walker:
    """Walks one folder named on the command line."""

    root: Path
    given: str
    walk: Walk

    def display(self, path: Path) -> str:
        """Name a path as the user would: the folder as given, then the path below it."""
        return str(PurePosixPath(self.given) / path.relative_to(self.root).as_posix())

    def keep(self, path: Path, ignore: _Ignores, is_dir: bool) -> bool:
        """Return True unless an exclude glob or a .gitignore drops this entry."""
        if self.walk.excluded(path, path.relative_to(self.root).as_posix(), is_dir):
            return False
        return not (self.walk.gitignore and ignore.ignored(path.resolve(), is_dir))

    def targets(self) -> Iterator[Target]:
        """Yield the models below the folder, pruning dropped folders and model folders."""
        top = _ancestor_ignores(self.root) if self.walk.gitignore else _Ignores()
        ignores = {self.root.resolve(): top}
        for folder, dirs, files in os.walk(self.root):
            here = Path(folder)
            ignore = ignores[here.resolve()]
            dirs[:] = sorted(d for d in dirs if self.keep(here / d, ignore, True))
            models = [d for d in dirs if is_model_dir(here / d)]
            models += [f for f in files if self.keep(here / f, ignore, False)
                       and is_model_file(here / f)]
            yield from (Target(path=here / m, display=self.display(here / m)) for m in sorted(models))
            dirs[:] = [d for d in dirs if d not in models]
            for d in dirs:
                sub = (here / d).resolve()
                ignores[sub] = ignore.below(sub) if self.walk.gitignore else ignore
