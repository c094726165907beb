"""A member of an unzipped model folder that is a symlink out of it is refused, not read."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pytest

from graphcheck.engine import check_path
from graphcheck.results import FileResult

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "keras" / "question.keras"
MEMBERS = ("config.json", "model.weights.h5")


def unzipped(folder: Path) -> Path:
    """Unzip question.keras into folder/m.keras (what save(..., zipped=False) writes)."""
    model = folder / "m.keras"
    with zipfile.ZipFile(FIXTURE) as archive:
        archive.extractall(model)
    return model


def messages(result: FileResult) -> list[str]:
    """Return the messages of a result's unreadable-model findings."""
    return [f.message for f in result.findings if f.rule == "unreadable-model"]


@pytest.mark.parametrize("member", MEMBERS)
def test_a_member_linking_out_of_the_folder_is_refused(tmp_path: Path, member: str) -> None:
    outside = unzipped(tmp_path / "outside")
    model = unzipped(tmp_path / "tree")
    (model / member).unlink()
    os.symlink(outside / member, model / member)
    found = messages(check_path(model, "m.keras"))
    assert len(found) == 1 and "outside" in found[0] and "does not follow" in found[0], found


@pytest.mark.parametrize("member", MEMBERS)
def test_a_member_linking_inside_the_folder_is_read(tmp_path: Path, member: str) -> None:
    model = unzipped(tmp_path)
    (model / "kept").mkdir()
    shutil.move(model / member, model / "kept" / member)
    os.symlink(Path("kept", member), model / member)
    assert messages(check_path(model, "m.keras")) == []


def test_savedmodel_metadata_linking_out_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret").write_bytes(b"\x0a\x00")
    (tmp_path / "saved").mkdir()
    os.symlink(tmp_path / "secret", tmp_path / "saved" / "keras_metadata.pb")
    found = messages(check_path(tmp_path / "saved", "saved"))
    assert len(found) == 1 and "outside" in found[0], found
