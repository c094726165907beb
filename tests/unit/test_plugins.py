"""Plugins through real installed metadata: loader precedence, and plugins that fail to load.

Each test writes a distribution (``foo-1.2.dist-info`` with an ``entry_points.txt``) and its
module into a folder on ``sys.path``, as pip would, so importlib.metadata finds them honestly.
"""

from __future__ import annotations

import importlib
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphcheck import engine, plugins, reporters
from graphcheck.cli import main
from graphcheck.discovery import discover
from graphcheck.findings import LoadError
from graphcheck.graph import Model
from graphcheck.rules.registry import all_rules
from graphcheck.shapes import SHAPE_FUNCTIONS

Install = Callable[..., None]
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "rules" / "single_timestep.keras"
LOADERS = '''
from graphcheck.findings import LoadError


class Fake:
    def __init__(self, name, priority, suffix):
        self.name, self.priority, self.suffix = name, priority, suffix
        self.suffixes = frozenset({suffix})

    def sniff(self, path, head):
        return path.suffix == self.suffix

    def finds(self, path, head):
        return True if head is None and path.suffix == self.suffix else None

    def load(self, path):
        raise LoadError(f"loaded by {self.name}")


EARLY = Fake("early", 50, ".keras")
LATE = Fake("late", 900, ".fake")
LATE_KERAS = Fake("late-keras", 900, ".keras")
'''


def forget() -> None:
    """Drop every cache that holds what the entry points named, and the plugin's module."""
    for cached in (plugins._installed, engine.loaders, engine.shape_plugins,
                   engine.import_shape_functions, all_rules, reporters._points, reporters._loaded,
                   reporters.plugin_reporters):
        cached.cache_clear()
    sys.modules.pop("foo_plugin", None)
    importlib.invalidate_caches()


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Install]:
    """Return a function that installs distribution foo 1.2 with the given entry points."""
    site = tmp_path / "site"

    def installer(entry_points: str, module: str = "") -> None:
        info = site / "foo-1.2.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: foo\nVersion: 1.2\n")
        (info / "entry_points.txt").write_text(entry_points)
        if module:
            (site / "foo_plugin.py").write_text(module)
        monkeypatch.syspath_prepend(str(site))
        forget()

    yield installer
    monkeypatch.undo()
    shutil.rmtree(site, ignore_errors=True)
    forget()


def test_builtin_loaders_come_in_declared_priority_order() -> None:
    ordered = [loader.name for loader in engine.loaders()]
    assert ordered == ["h5", "json", "savedmodel", "keras", "onnx"]
    assert [loader.priority for loader in engine.loaders()] == sorted(
        loader.priority for loader in engine.loaders())


def test_a_plugin_loader_goes_before_or_after_the_builtins_by_priority(install: Install) -> None:
    """Entry point names sort the other way round: only the priorities put them in place."""
    install("[graphcheck.loaders]\naaa-late = foo_plugin:LATE\nzzz-early = foo_plugin:EARLY\n"
            "aab-late-keras = foo_plugin:LATE_KERAS\n", LOADERS)
    names = [loader.name for loader in engine.loaders()]
    assert names[0] == "early" and names[-2:] == ["late", "late-keras"]
    with pytest.raises(LoadError, match="loaded by early"):  # before keras-zip for .keras
        engine.load(FIXTURE)


def test_a_late_plugin_loader_gets_what_no_builtin_takes(install: Install, tmp_path: Path) -> None:
    install("[graphcheck.loaders]\nlate = foo_plugin:LATE\nlate-keras = foo_plugin:LATE_KERAS\n",
            LOADERS)
    assert isinstance(engine.load(FIXTURE), Model)  # the built-in keras loader came first
    other = tmp_path / "model.fake"
    other.write_bytes(b"\x00\x01binary")
    with pytest.raises(LoadError, match="loaded by late"):
        engine.load(other)


def test_a_framework_plugin_registers_shape_functions_through_its_entry_point(
        install: Install) -> None:
    install("[graphcheck.shapes]\nfake = foo_plugin\n",
            "from graphcheck.shapes import register\n\n"
            "@register('fake', 'Thing')\ndef thing(call):\n    return None\n")
    engine.import_shape_functions()
    assert SHAPE_FUNCTIONS.pop(("fake", "Thing")).__module__ == "foo_plugin"
    assert ("keras", "LSTM") in SHAPE_FUNCTIONS


def test_a_folder_walk_finds_the_files_a_plugin_loader_claims(install: Install,
                                                               tmp_path: Path) -> None:
    """Discovery has no table of formats: it asks the loaders."""
    (tmp_path / "model.fake").write_bytes(b"\x00\x01binary")
    (tmp_path / "notes.txt").write_text("not a model")
    assert [t.display for t in discover([str(tmp_path)])] == []
    install("[graphcheck.loaders]\nlate = foo_plugin:LATE\n", LOADERS)
    assert [t.path.name for t in discover([str(tmp_path)])] == ["model.fake"]


@pytest.mark.parametrize(("group", "command"), [("graphcheck.rules", ["rules"]),
                                                ("graphcheck.loaders", ["check", "x.keras"]),
                                                ("graphcheck.reporters", ["check", "x.keras"])])
def test_a_plugin_whose_import_fails_is_one_message_and_exit_2(
        install: Install, group: str, command: list[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    install(f"[{group}]\nfoo-rules = foo_missing_module:RULES\n")
    shutil.copy(FIXTURE, tmp_path / "x.keras")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith('graphcheck: plugin "foo-rules" (package foo 1.2, entry '
                                    f"point foo_missing_module:RULES in {group}) could not be "
                                    "loaded: ModuleNotFoundError: No module named"), result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("group", "expected"), [
    ("graphcheck.rules", "not a Rule subclass or a module of rules"),
    ("graphcheck.loaders", "not a loader (name, priority, suffixes, sniff, finds, load)"),
    ("graphcheck.reporters", "not a reporter (an object with render or explain)")])
def test_a_plugin_naming_the_wrong_kind_of_object_says_so(
        install: Install, group: str, expected: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    install(f"[{group}]\nfoo-thing = foo_plugin:THING\n", "THING = 3\n")
    shutil.copy(FIXTURE, tmp_path / "x.keras")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["rules"] if group.endswith("rules") else ["x.keras"])
    assert result.exit_code == 2, result.output
    assert "graphcheck: plugin \"foo-thing\" (package foo 1.2" in result.stderr
    assert f"could not be loaded: it names int '3', {expected}" in result.stderr


def test_a_shape_plugin_loads_up_front_even_for_another_framework(install: Install) -> None:
    """The built-in shape packages wait for a model of their framework; a plugin's do not."""
    install("[graphcheck.shapes]\nfake = foo_plugin\n",
            "from graphcheck.shapes import register\n\n"
            "@register('fake', 'Thing')\ndef thing(call):\n    return None\n")
    engine.load_plugins()
    assert SHAPE_FUNCTIONS.pop(("fake", "Thing")).__module__ == "foo_plugin"


def test_a_broken_shape_plugin_stops_the_run_before_it_starts(install: Install) -> None:
    install("[graphcheck.shapes]\nfake = foo_plugin\n", "raise ImportError('no such backend')\n")
    with pytest.raises(plugins.PluginError, match=r'plugin "fake".*ImportError: no such backend'):
        engine.load_plugins()


def test_a_missing_builtin_shape_package_is_named_up_front(install: Install) -> None:
    """An entry point naming a graphcheck.shapes module that is not there fails like a plugin."""
    install("[graphcheck.shapes]\ngone = graphcheck.shapes.gone\n")
    with pytest.raises(plugins.PluginError, match=re.escape("no module named 'graphcheck.shapes.gone'")):
        engine.load_plugins()


def test_a_missing_builtin_reporter_module_is_named_up_front(install: Install, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Built-in reporters are imported when chosen, but a missing one fails every run."""
    install("[graphcheck.reporters]\ngone = graphcheck.reporters.gone:REPORTER\n")
    shutil.copy(FIXTURE, tmp_path / "x.keras")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["x.keras"])
    assert result.exit_code == 2, result.output
    assert ("could not be loaded: ModuleNotFoundError: no module named "
            "'graphcheck.reporters.gone'") in result.stderr


def test_a_plugin_reporter_is_chosen_by_its_format_name(install: Install, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    install("[graphcheck.reporters]\nfoo = foo_plugin:REPORTER\n",
            "class Foo:\n    name = 'foo'\n\n    def render(self, results, options):\n"
            "        return f'{len(results)} file(s) by foo\\n'\n\n\nREPORTER = Foo()\n")
    shutil.copy(FIXTURE, tmp_path / "x.keras")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["--format", "foo", "--exit-zero", "x.keras"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "1 file(s) by foo\n"
    refused = CliRunner().invoke(main, ["explain", "--format", "foo", "x.keras"])
    assert refused.exit_code == 2 and "unknown format 'foo'" in refused.stderr
