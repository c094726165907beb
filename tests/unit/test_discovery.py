"""Folder walks: which files are models, excludes, .gitignore, order, and the CLI over folders."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper

from graphcheck.cli import main
from graphcheck.discovery import Walk, discover, is_model_dir, is_model_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
GOOD = FIXTURES / "keras" / "question.keras"
BROKEN = FIXTURES / "keras" / "units16_weights32.keras"


def tiny_onnx() -> bytes:
    """Serialise a one-node ONNX model with the real onnx library."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    return bytes(helper.make_model(graph).SerializeToString())


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """Make a project folder with models under usual and unusual names, and non-models."""
    root = tmp_path / "proj"
    (root / "models" / "deep").mkdir(parents=True)
    shutil.copy(GOOD, root / "models" / "good.keras")
    shutil.copy(BROKEN, root / "models" / "deep" / "BROKEN.KERAS")
    shutil.copy(FIXTURES / "keras" / "question.h5", root / "models" / "weights_no_suffix")
    shutil.copy(FIXTURES / "keras" / "question.json", root / "models" / "arch.json")
    shutil.copy(GOOD, root / "models" / "renamed.bin")  # a .keras zip under another name
    shutil.copytree(FIXTURES / "keras" / "question_unzipped", root / "models" / "unzipped")
    shutil.copytree(FIXTURES / "tf_keras" / "question_savedmodel", root / "models" / "saved")
    (root / "models" / "net_onnx").write_bytes(tiny_onnx())
    (root / "package.json").write_text('{"name": "x", "version": "1"}')
    (root / "expected.json").write_text((FIXTURES / "keras" / "question.expected.json").read_text())
    with zipfile.ZipFile(root / "arrays.npz", "w") as archive:
        archive.writestr("a.npy", b"\x93NUMPY")
    (root / "notes.txt").write_text("not a model\n")
    (root / ".venv" / "lib").mkdir(parents=True)
    shutil.copy(GOOD, root / ".venv" / "lib" / "vendored.keras")
    return root


def shown(root: Path, walk: Walk | None = None) -> list[str]:
    """Return the discovered models as paths relative to root."""
    found = discover([str(root)], walk or Walk())
    return [Path(t.display).relative_to(root).as_posix() for t in found]


MODELS = ["models/arch.json", "models/deep/BROKEN.KERAS", "models/good.keras",
          "models/net_onnx", "models/renamed.bin", "models/saved", "models/unzipped",
          "models/weights_no_suffix"]


def test_walk_finds_models_by_suffix_and_content(tree: Path) -> None:
    """Suffixes (any case), sniffed content and model folders count; other files do not."""
    assert shown(tree) == MODELS


def test_real_onnx_bytes_are_sniffed(tmp_path: Path) -> None:
    """The ONNX sniff accepts what onnx writes and rejects a TensorFlow SavedModel proto."""
    model = tmp_path / "m"
    model.write_bytes(tiny_onnx())
    onnx.checker.check_model(str(model))
    saved = tmp_path / "saved_model_pb"
    saved.write_bytes(b"\x08\x01\x12\x10\n\x0e")  # schema_version 1, then meta_graphs
    assert is_model_file(model) and not is_model_file(saved)


def test_model_folders_are_not_walked_into(tree: Path) -> None:
    """An unzipped .keras and a SavedModel are one model each, not folders of files."""
    assert is_model_dir(tree / "models" / "unzipped") and is_model_dir(tree / "models" / "saved")
    assert not any(s.startswith(("models/unzipped/", "models/saved/")) for s in shown(tree))


def test_exclude_globs_match_names_and_paths(tree: Path) -> None:
    """A glob drops files and whole folders, by name or by path below the walked folder."""
    assert shown(tree, Walk(exclude=("deep",))) == [m for m in MODELS if "deep" not in m]
    assert shown(tree, Walk(exclude=("*.json", "models/saved"))) == [
        m for m in MODELS if m not in ("models/arch.json", "models/saved")]


def test_gitignore_nested_and_negated(tree: Path) -> None:
    """Deeper .gitignore files override shallower ones; negation re-includes; off means off."""
    (tree / ".gitignore").write_text("*.bin\nunzipped/\nweights_*\n")
    (tree / "models" / ".gitignore").write_text("!weights_no_suffix\n")
    expected = [m for m in MODELS if m not in ("models/renamed.bin", "models/unzipped")]
    assert shown(tree) == expected
    assert shown(tree, Walk(gitignore=False)) == MODELS


def test_gitignore_above_the_walked_folder_counts_inside_a_repository(tree: Path) -> None:
    """Ignore files from the repository root down apply; .git/info/exclude too."""
    (tree / ".git" / "info").mkdir(parents=True)
    (tree / ".git" / "info" / "exclude").write_text("net_onnx\n")
    (tree / ".gitignore").write_text("models/deep/\n")
    walked = [Path(t.display).name for t in discover([str(tree / "models")])]
    assert "BROKEN.KERAS" not in walked and "net_onnx" not in walked and "good.keras" in walked


def test_explicit_files_are_always_checked_and_output_is_sorted(tree: Path) -> None:
    """A file named on the command line is checked even if ignored; duplicates collapse."""
    (tree / ".gitignore").write_text("notes.txt\n")
    paths = [str(tree / "notes.txt"), str(tree / "models"), str(tree / "models" / "good.keras")]
    displays = [t.display for t in discover(paths)]
    assert displays == sorted(displays)
    assert str(tree / "notes.txt") in displays
    assert len(displays) == len(set(displays)) == len(MODELS) + 1


def test_cli_checks_every_model_below_a_folder(tree: Path) -> None:
    """``graphcheck check DIR`` reports per file with the walked path; explain walks too."""
    result = CliRunner().invoke(main, ["check", "--format", "json", "--jobs", "2", str(tree)])
    assert result.exit_code == 1
    paths = {f["path"] for f in json.loads(result.stdout)["findings"]}
    assert str(tree / "models" / "deep" / "BROKEN.KERAS") in paths
    assert str(tree / "models" / "good.keras") not in paths
    explained = CliRunner().invoke(main, ["explain", "--format", "json", str(tree)])
    assert [m["path"] for m in json.loads(explained.stdout)] == [str(tree / m) for m in MODELS]


def test_cli_fixtures_folder_finds_every_model() -> None:
    """``graphcheck fixtures/`` analyses every model file and model folder below it."""
    files = {p for p in FIXTURES.rglob("*") if p.is_file()
             and p.suffix.lower() in (".keras", ".h5", ".hdf5", ".onnx")
             and not is_model_dir(p.parent) and p.name != "data.h5"}  # HDF5 data: skipped
    folders = {p for p in FIXTURES.rglob("*") if p.is_dir() and is_model_dir(p)}
    # Files claimed by their first bytes (HDF5) are classified in the read child of the run.
    found = {t.path.resolve() for t in discover([str(FIXTURES)])
             if t.kept_by is None or is_model_file(t.path)}
    assert {p.resolve() for p in files | folders} <= found
    explained = CliRunner().invoke(main, ["explain", "--format", "json", str(FIXTURES)])
    assert len(json.loads(explained.stdout)) == len(found)


def test_cli_warns_when_nothing_is_found(tmp_path: Path) -> None:
    """A folder without models exits 0 and says so on stderr."""
    (tmp_path / "readme.txt").write_text("hi\n")
    result = CliRunner().invoke(main, ["check", str(tmp_path)])
    assert result.exit_code == 0 and "no model files" in result.stderr


def test_explain_output_is_the_explain_reporters() -> None:
    """Reports built in workers render exactly as reports built in one process."""
    from graphcheck import __version__
    from graphcheck.engine import check_path
    from graphcheck.explanations.build import build
    from graphcheck.reporters import RenderOptions, reporters

    reports = [build(check_path(p, str(p))) for p in (GOOD, BROKEN)]
    for fmt, reporter in reporters("explain").items():
        out = CliRunner().invoke(main, ["explain", "--format", fmt, "-j", "2", str(BROKEN), str(GOOD)])
        shown = RenderOptions(command="explain", version=__version__)  # html shows it
        assert out.stdout == reporter.explain(reports, shown)
