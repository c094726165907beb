"""Hostile and broken files: each gets a clear finding, never a traceback, a hang or a followed link."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import h5py
import pytest

from graphcheck.engine import check_path, load
from graphcheck.limits import Limits, from_mapping, keys
from graphcheck.results import FileResult
from graphcheck.settings import Settings

HOSTILE = Path(__file__).resolve().parents[2] / "fixtures" / "hostile"
EXPECTED: dict[str, dict[str, Any]] = json.loads((HOSTILE / "expected.json").read_text())
FAILURES = ("unreadable-model", "internal-error")


def check(path: Path, **limits: int) -> FileResult:
    """Analyse one file with the given limits."""
    return check_path(path, path.name, Settings(limits=Limits(**limits)))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_fixture_gets_its_finding(name: str) -> None:
    """Each crafted file gets the rule and the message fragment recorded for it."""
    want = EXPECTED[name]
    findings = check(HOSTILE / name).findings
    assert not [f for f in findings if f.rule == "internal-error"]
    if want["rule"] is None:  # a model with the wrong suffix: sniffed and read anyway
        assert not [f for f in findings if f.rule in FAILURES]
        return
    hits = [f for f in findings if f.rule == want["rule"]]
    assert any(want["contains"] in f.message for f in hits), [f.message for f in findings]


def test_cli_reports_every_hostile_file_as_json_without_traceback() -> None:
    """One run over every file: valid JSON, exit 1, no traceback, every broken file named."""
    files = [str(HOSTILE / name) for name in sorted(EXPECTED)]
    run = subprocess.run([sys.executable, "-m", "graphcheck", "check", "--format", "json", *files],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    paths = {Path(f["path"]).name for f in json.loads(run.stdout)["findings"]}
    broken = {n for n, want in EXPECTED.items() if want["rule"] is not None}
    assert broken <= paths


@pytest.mark.parametrize(("limit", "value", "fragment"), [
    ("max_json_bytes", 100, "(max_json_bytes)"),
    ("max_member_bytes", 100, "(max_member_bytes)"),
    ("max_zip_members", 2, "(max_zip_members)"),
    ("max_nodes", 1, "(max_nodes)"),
    ("max_rank", 1, "(max_rank)"),
    ("max_dim", 3, "(max_dim)"),
    ("max_json_depth", 3, "(max_json_depth)"),
    ("max_h5_objects", 1, "(max_h5_objects)"),
])
def test_each_limit_is_configurable(limit: str, value: int, fragment: str) -> None:
    """A model that passes the defaults is refused, naming the limit, once that limit is lowered."""
    model = HOSTILE / "keras_named.h5"  # a valid .keras archive despite its suffix
    assert not [f for f in check(model).findings if f.rule in FAILURES]
    findings = check(model, **{limit: value}).findings
    assert any(fragment in f.message for f in findings if f.rule == "unreadable-model"), findings


def test_limits_from_mapping_rejects_unknown_and_bad_values() -> None:
    """The configuration file's keys are the dataclass fields; typos and negatives are errors."""
    assert from_mapping({"max_nodes": 5}).max_nodes == 5
    assert "max_json_bytes" in keys()
    with pytest.raises(ValueError, match="unknown limit"):
        from_mapping({"max_nodez": 5})
    with pytest.raises(ValueError, match="positive"):
        from_mapping({"max_nodes": -1})


def _legacy_copy(tmp_path: Path) -> Path:
    """Copy the legacy .h5 fixture (saved by Keras, misnamed .keras) to a writable place."""
    path = tmp_path / "model.h5"
    shutil.copyfile(HOSTILE / "h5_named.keras", path)
    return path


def _dense_weights(path: Path) -> tuple[Any, ...] | None:
    """Return the weights graphcheck finds for the Dense layer."""
    return load(path).root.layer("dense").weights


def test_external_links_in_hdf5_are_never_followed(tmp_path: Path) -> None:
    """A weights group replaced by a link to another file reads as missing, not as that file."""
    path = _legacy_copy(tmp_path)
    target = tmp_path / "elsewhere.h5"
    with h5py.File(path, "r+") as h5, h5py.File(target, "w") as other:
        h5.copy(h5["model_weights/dense"], other, "dense")
        del h5["model_weights/dense"]
        h5["model_weights/dense"] = h5py.ExternalLink(str(target), "/dense")
        assert h5["model_weights/dense"].attrs["weight_names"] is not None  # h5py follows it
    assert _dense_weights(path) == ()


def test_hdf5_link_cycles_are_reported(tmp_path: Path) -> None:
    """A Keras 3 weights group holding a hard link to its parent is a finding, not a recursion."""
    source = HOSTILE / "keras_named.h5"
    work = tmp_path / "unzipped"
    shutil.unpack_archive(source, work, "zip")
    with h5py.File(work / "model.weights.h5", "r+") as h5:
        h5["layers/dense/loop"] = h5["layers/dense"]
    findings = check(work).findings
    assert any("links back into itself" in f.message for f in findings), findings


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """Reading a FIFO would block forever; it is reported instead (in a subprocess, with a timeout)."""
    fifo = tmp_path / "model.keras"
    os.mkfifo(fifo)
    run = subprocess.run([sys.executable, "-m", "graphcheck", "check", str(fifo)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "not a regular file" in run.stdout
