"""Find the models below the paths a user names: by suffix and content, honouring ignores."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path, PurePosixPath

from graphcheck.findings import LoadError
from graphcheck.loaders import read_head
from graphcheck.patterns import IgnoreSpec, compile_spec
from graphcheck.rule_names import RuleName
from graphcheck.safe_io import escape_name, kind, read_text

# Folders no one keeps models in that can be huge: VCS data, virtualenvs, tool caches.
DEFAULT_EXCLUDES = (".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__",
                    ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis")
HEAD_BYTES = 4096


@dataclass(frozen=True, kw_only=True)
class Target:
    """One model to check: where it is and how to name it in the output."""

    path: Path
    display: str
    weights: Path | None = None  # a save_weights file to check against the architecture at path
    note: str = ""  # set when the walk could not or would not check this entry: why
    note_rule: RuleName = RuleName.NOT_A_MODEL  # the rule the note is reported under


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
    def spec(self) -> IgnoreSpec:
        """Compile the patterns once (too complex ones are dropped: see graphcheck.patterns)."""
        return compile_spec([normalise(p) for p in self.patterns])

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
            targets = iter([Target(path=root, display=escape_name(given))])
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
    """Return True for a file a loader claims: by its name, else by its first bytes."""
    verdict = _claimed(path, None)
    if verdict is not None:
        return verdict
    if not path.is_file():  # sockets, FIFOs (a read would block), broken links
        return False
    try:
        head = read_head(path, HEAD_BYTES)
    except OSError:
        return named_like_model(path)
    return bool(_claimed(path, head))


def _claimed(path: Path, head: bytes | None) -> bool | None:
    """Return the first answer of the loaders, in priority order, about a file in a walk."""
    from graphcheck.engine import loaders

    for loader in loaders():
        verdict = loader.finds(path, head)
        if verdict is not None:
            return verdict
    return None


def named_like_model(path: str | Path) -> bool:
    """Return True when a loader declares the file's suffix (.keras, .h5, .onnx, ...)."""
    from graphcheck.engine import loaders

    suffix = Path(path).suffix.lower()
    return any(suffix in loader.suffixes for loader in loaders())


# A walk that takes longer than this stops with a note: a hostile tree (millions of entries,
# a slow network mount) must not hold a CI job for hours.
MAX_WALK_SECONDS = 120.0
WALK_ERRORS = (OSError, LoadError, RuntimeError, ValueError)


@dataclass
class _Ignores:
    """The .gitignore specs that apply in one folder, deepest last; bases are lexical paths."""

    specs: list[tuple[str, IgnoreSpec]] = field(default_factory=list)

    def ignored(self, path: str, is_dir: bool) -> bool:
        """Apply git's rule: the deepest .gitignore with a matching pattern decides."""
        for base, spec in reversed(self.specs):
            rel = os.path.relpath(path, base).replace(os.sep, "/")
            if rel.startswith("../"):
                continue
            verdict = spec.check(rel + ("/" if is_dir else ""))
            if verdict is not None:
                return verdict
        return False

    def below(self, folder: str) -> _Ignores:
        """Return the specs for a subfolder: these plus its own .gitignore, if any."""
        spec = _read_spec(Path(folder, ".gitignore"))
        return _Ignores([*self.specs, (folder, spec)]) if spec else self


def _read_spec(file: Path) -> IgnoreSpec | None:
    """Parse one ignore file; a missing, unreadable or non-regular one ignores nothing."""
    try:
        lines = read_text(file).splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return compile_spec(lines)


def _ancestor_ignores(root: str) -> _Ignores:
    """Collect .gitignore files (and .git/info/exclude) from the repository root down to root."""
    chain = [root, *(str(p) for p in Path(root).parents)]
    top = next((i for i, folder in enumerate(chain) if os.path.lexists(Path(folder, ".git"))), None)
    if top is None:
        return _Ignores().below(root)
    ignores = _Ignores()
    exclude = _read_spec(Path(chain[top], ".git", "info", "exclude"))
    if exclude:
        ignores = _Ignores([(chain[top], exclude)])
    for folder in reversed(chain[: top + 1]):
        ignores = ignores.below(folder)
    return ignores


@dataclass(frozen=True)
class _Walker:
    """Walks one folder named on the command line, iteratively, never following a link out."""

    root: Path
    given: str
    walk: Walk

    def display(self, path: str) -> str:
        """Name a path as the user would: the folder as given, then the path below it."""
        below = os.path.relpath(path, self.top).replace(os.sep, "/")
        return escape_name(str(PurePosixPath(self.given) / below))

    @cached_property
    def top(self) -> str:
        """The walked folder as an absolute lexical path (symlinks in it are not resolved)."""
        return os.path.abspath(self.root)

    @cached_property
    def real_top(self) -> str:
        """The walked folder with symlinks resolved: links may point anywhere inside it."""
        return os.path.realpath(self.root)

    def keep(self, path: str, ignore: _Ignores, is_dir: bool) -> bool:
        """Return True unless an exclude glob or a .gitignore drops this entry."""
        relative = os.path.relpath(path, self.top).replace(os.sep, "/")
        if self.walk.excluded(Path(path), relative, is_dir):
            return False
        return not (self.walk.gitignore and ignore.ignored(path, is_dir))

    def note(self, path: str, why: str) -> Target:
        """Return an entry the walk reports instead of checking."""
        return Target(path=Path(path), display=self.display(path), note=why)

    def targets(self) -> Iterator[Target]:
        """Yield the models below the folder: depth first, each real folder visited once."""
        import time

        deadline = time.monotonic() + MAX_WALK_SECONDS
        top = _ancestor_ignores(self.top) if self.walk.gitignore else _Ignores()
        stack: list[tuple[str, _Ignores]] = [(self.top, top)]
        visited: set[tuple[int, int]] = set()
        while stack:
            if time.monotonic() > deadline:
                yield self.note(stack[-1][0], f"the folder walk stopped after {MAX_WALK_SECONDS:g} s"
                                " (max walk time): files below here were not checked")
                return
            folder, ignore = stack.pop()
            yield from self._folder(folder, ignore, stack, visited)

    def _folder(self, folder: str, ignore: _Ignores, stack: list[tuple[str, _Ignores]],
                visited: set[tuple[int, int]]) -> Iterator[Target]:
        """Yield the models in one folder and push its subfolders; errors become notes."""
        try:
            info = os.stat(folder)
            with os.scandir(folder) as scan:
                names = sorted(entry.name for entry in scan)
        except OSError as error:
            yield replace(self.note(folder, f"this folder cannot be read: {_reason(error)}"),
                          note_rule=RuleName.UNREADABLE_MODEL)
            return
        if (info.st_dev, info.st_ino) in visited:  # a link back to a folder already walked
            return
        visited.add((info.st_dev, info.st_ino))
        for name in reversed(names):
            path = os.path.join(folder, name)
            try:
                yield from self._entry(path, ignore, stack)
            except WALK_ERRORS as error:  # vanished, unreadable, undecodable mid-walk
                if named_like_model(name):
                    yield replace(self.note(path, f"this file cannot be read: {_reason(error)}"),
                                  note_rule=RuleName.UNREADABLE_MODEL)

    def _entry(self, path: str, ignore: _Ignores,
               stack: list[tuple[str, _Ignores]]) -> Iterator[Target]:
        """Classify one entry: a model, a folder to walk, a link to report, or nothing."""
        if os.path.islink(path):
            outside = self._outside(path)
            if outside:
                if self.keep(path, ignore, os.path.isdir(path)) and self._worth_noting(path):
                    yield self.note(path, outside)
                return
        info = os.stat(path)  # follows an in-tree link; raises for a broken one
        is_dir = stat.S_ISDIR(info.st_mode)
        if not self.keep(path, ignore, is_dir):
            return
        if is_dir and is_model_dir(Path(path)):
            yield Target(path=Path(path), display=self.display(path))
        elif is_dir:
            stack.append((path, ignore.below(path) if self.walk.gitignore else ignore))
        elif not stat.S_ISREG(info.st_mode):
            if named_like_model(path):
                yield self.note(path, f"not checked: this is {kind(info.st_mode)}, not a regular "
                                "file (reading it could block)")
        elif is_model_file(Path(path)):
            yield Target(path=Path(path), display=self.display(path))

    def _outside(self, link: str) -> str:
        """Return why a symlink is not followed (it leaves the walked folder), or ""."""
        real = os.path.realpath(link)
        if real == self.real_top or real.startswith(self.real_top.rstrip("/") + "/"):
            return ""
        target = escape_name(os.readlink(link))
        return (f"not followed: this symlink points to {target}, outside the folder being "
                "checked (name the target on the command line to check it)")

    @staticmethod
    def _worth_noting(path: str) -> bool:
        """Return True for a link named like a model or pointing at a folder."""
        return named_like_model(path) or os.path.isdir(path)


def _reason(error: BaseException) -> str:
    """Say why an entry could not be read, in a few words."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
