"""Find the models below the paths a user names: by suffix and content, honouring ignores."""

from __future__ import annotations

import fnmatch
import os
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from graphcheck.loaders import read_head, sniff_bytes

if TYPE_CHECKING:  # imported where used: checking one file should not pay for it
    import pathspec

MODEL_SUFFIXES = frozenset({".keras", ".h5", ".hdf5", ".onnx"})
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


@dataclass(frozen=True, kw_only=True)
class Walk:
    """How folders are walked: extra exclude globs and whether .gitignore files count."""

    exclude: tuple[str, ...] = ()
    gitignore: bool = True


def discover(paths: Sequence[str], walk: Walk = Walk()) -> list[Target]:
    """Return every model the paths name or hold, deduplicated and sorted by display path."""
    found: dict[str, Target] = {}
    for given in paths:
        root = Path(given)
        if root.is_dir() and not is_model_dir(root):
            targets: Iterator[Target] = _Walker(root, given, walk).targets()
        else:  # named explicitly: always checked, whatever it is or whatever ignores it
            targets = iter([Target(path=root, display=given)])
        for target in targets:
            found.setdefault(os.path.normpath(target.path), target)
    return sorted(found.values(), key=lambda t: t.display)


def is_model_dir(path: Path) -> bool:
    """Return True for a folder a loader reads as one model (unzipped .keras, SavedModel)."""
    from graphcheck.engine import loaders

    return any(loader.sniff(path, b"") for loader in loaders())


def is_model_file(path: Path) -> bool:
    """Return True for a file with a model suffix, or whose content says it is a model."""
    suffix = path.suffix.lower()
    if suffix in MODEL_SUFFIXES:
        return True
    if not path.is_file():  # sockets, FIFOs (a read would block), broken links
        return False
    try:
        head = read_head(path, HEAD_BYTES)
    except OSError:
        return False
    if suffix == ".json":  # only configs from model.to_json(), not every JSON in a repo
        return KERAS_JSON.match(head) is not None and b'"class_name"' in head
    kind = sniff_bytes(head).kind
    if kind == "zip":
        return _is_keras_zip(path)
    return kind in ("hdf5", "onnx")


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
        rel = path.relative_to(self.root).as_posix()
        names = (path.name, rel, self.display(path))
        globs = (*DEFAULT_EXCLUDES, *self.walk.exclude)
        if any(fnmatch.fnmatchcase(name, glob) for glob in globs for name in names):
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
