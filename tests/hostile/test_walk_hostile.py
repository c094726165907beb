"""Hostile folder trees: links out and in loops, deep nesting, FIFOs, odd names; never a traceback."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphcheck.cli import main
from graphcheck.discovery import discover
from graphcheck.patterns import compile_spec, too_complex
from tests.unit.test_discovery import tiny_onnx


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Make a git checkout with a link out of the tree, a link loop, a folder loop and a FIFO."""
    (tmp_path / "v3").mkdir()
    (tmp_path / "v3" / "model.onnx").write_bytes(tiny_onnx())
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "models").mkdir()
    (root / "models" / "good.onnx").write_bytes(tiny_onnx())
    (root / "models" / "latest.onnx").symlink_to("../../v3/model.onnx")
    (root / "models" / "up").symlink_to("..")
    (root / "loopa").symlink_to("loopb")
    (root / "loopb").symlink_to("loopa")
    (root / "self.onnx").symlink_to("self.onnx")
    os.mkfifo(root / "models" / "pipe.onnx")
    return root


def test_links_out_loops_and_fifos_are_notes_not_tracebacks(repo: Path) -> None:
    targets = {t.display.removeprefix(str(repo) + "/"): t for t in discover([str(repo)])}
    assert not targets["models/good.onnx"].note
    assert "outside the folder" in targets["models/latest.onnx"].note
    assert "FIFO" in targets["models/pipe.onnx"].note
    assert "cannot be read" in targets["self.onnx"].note  # a link to itself: ELOOP
    assert not any("/up/" in name for name in targets)  # a link back up is walked once only


def test_show_files_says_what_was_not_followed(repo: Path) -> None:
    result = CliRunner().invoke(main, ["--show-files", str(repo)])
    assert result.exit_code == 0, result.output
    assert f"# {repo}/models/latest.onnx: not followed" in result.output
    assert f"{repo}/models/good.onnx\n" in result.output


def test_a_fifo_inside_an_unzipped_keras_folder_is_refused_unopened(tmp_path: Path) -> None:
    folder = tmp_path / "m.keras"
    folder.mkdir()
    os.mkfifo(folder / "config.json")
    os.mkfifo(folder / "model.weights.h5")
    started = time.monotonic()
    result = CliRunner().invoke(main, ["--format", "json", str(tmp_path)])
    assert time.monotonic() - started < 15  # the read deadline is 20 s: nothing waited on it
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "not a regular file" in result.output


def test_fifteen_hundred_nested_folders_are_walked(tmp_path: Path) -> None:
    here = os.getcwd()
    try:
        os.chdir(tmp_path)
        for _ in range(1500):
            os.mkdir("d")
            os.chdir("d")
        Path("m.onnx").write_bytes(tiny_onnx())
    finally:
        os.chdir(here)
    try:
        (found,) = discover([str(tmp_path)])
        assert found.display.endswith("/d/m.onnx") and found.display.count("/d") == 1500
    finally:
        _remove_nested(tmp_path)


def _remove_nested(root: Path) -> None:
    """Delete the nested folders bottom up (shutil.rmtree, and so pytest, recurses per level)."""
    deepest = root.joinpath(*["d"] * 1500)
    (deepest / "m.onnx").unlink(missing_ok=True)
    while deepest != root:
        deepest.rmdir()
        deepest = deepest.parent


def test_non_utf8_names_are_escaped_and_every_output_stays_valid(tmp_path: Path) -> None:
    os.makedirs(tmp_path / "r")
    with open(os.path.join(os.fsencode(tmp_path / "r"), b"caf\xe9.onnx"), "wb") as handle:
        handle.write(b"not a model")
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["--format", "json", "--output", str(out), str(tmp_path / "r")])
    assert result.exit_code == 1, result.output
    (entry,) = json.loads(out.read_text(encoding="utf-8"))["findings"]
    assert entry["path"].endswith("caf\\xe9.onnx")
    assert "\udce9" not in entry["message"]


def test_a_link_out_in_a_git_checkout_reports_instead_of_raising(repo: Path) -> None:
    (repo / ".gitignore").write_text("*.tmp\n")
    result = CliRunner().invoke(main, [str(repo)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "not-a-model not followed" in result.output


def test_backtracking_patterns_are_dropped_and_matching_stays_fast() -> None:
    assert too_complex("*a*a*a*a*a*b") and not too_complex("**/build/*.py[cod]")
    spec = compile_spec(["*a*a*a*a*a*b", "*.tmp"])
    started = time.monotonic()
    assert spec.check("a" * 250) is None and spec.check("x.tmp") is True
    assert time.monotonic() - started < 5
    assert spec.dropped == ("*a*a*a*a*a*b",)


def test_fifos_and_devices_in_model_folders_are_refused_unopened(tmp_path: Path) -> None:
    unzipped = Path(__file__).resolve().parents[2] / "fixtures" / "keras" / "question_unzipped"
    keras = tmp_path / "k.keras"
    keras.mkdir()
    (keras / "config.json").write_bytes((unzipped / "config.json").read_bytes())
    os.mkfifo(keras / "model.weights.h5")
    for name, make in (("fifo", os.mkfifo), ("zero", lambda p: p.symlink_to("/dev/zero")),
                       ("kmsg", lambda p: p.symlink_to("/proc/self/status"))):
        (tmp_path / name).mkdir()
        make(tmp_path / name / "keras_metadata.pb")
    started = time.monotonic()
    result = CliRunner().invoke(main, ["--format", "json", str(tmp_path)])
    assert time.monotonic() - started < 15  # nothing waited out the 20 s read deadline
    found = {Path(f["path"]).name: f["message"] for f in json.loads(result.output)["findings"]}
    assert "not a regular file (a FIFO)" in found["k.keras"]
    assert "not a regular file (a FIFO)" in found["fifo"]
    assert "a character device" in found["zero"]
    assert "pseudo-file" in found["kmsg"]


def test_discovery_reads_only_a_zips_directory(tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(tmp_path / "model.bin", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", '{"class_name": "Sequential"}')
        archive.writestr("bomb", b"\0" * 50_000_000)  # inflating it would cost 50 MB
    with zipfile.ZipFile(tmp_path / "wheel.bin", "w") as archive:
        archive.writestr("pkg/__init__.py", "")
    lying = bytearray((tmp_path / "wheel.bin").read_bytes())
    lying[-10:-2] = (0xFFFFFFF0).to_bytes(4, "little") * 2  # a 4 GiB directory past the end
    (tmp_path / "lying.bin").write_bytes(bytes(lying))
    assert [t.display.rsplit("/", 1)[-1] for t in discover([str(tmp_path)])] == ["model.bin"]


def test_a_walk_past_its_time_bound_stops_with_a_note(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from graphcheck import discovery

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "m.onnx").write_bytes(tiny_onnx())
    monkeypatch.setattr(discovery, "MAX_WALK_SECONDS", -1.0)
    (found,) = discover([str(tmp_path)])
    assert "the folder walk stopped" in found.note


def test_unreadable_and_vanished_entries_are_findings_and_the_run_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from graphcheck import discovery

    (tmp_path / "good.onnx").write_bytes(tiny_onnx())
    (tmp_path / "locked").mkdir()
    (tmp_path / "gone.onnx").symlink_to("deleted.onnx")  # what a file deleted mid-walk leaves
    scandir = os.scandir

    def locked(path: str) -> object:  # chmod 000 does not stop root, who runs CI containers
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(discovery.os, "scandir", locked)
    result = CliRunner().invoke(main, ["--format", "json", str(tmp_path)])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    found = {Path(f["path"]).name: f for f in json.loads(result.output)["findings"]}
    assert "folder cannot be read: Permission denied" in found["locked"]["message"]
    assert "cannot be read" in found["gone.onnx"]["message"]
    assert "good.onnx" not in found  # checked, and clean
