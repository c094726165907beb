"""Zip member counts come from the central directory as zipfile reads it, not the end record's claim."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from graphcheck.engine import check_path
from graphcheck.limits import Limits
from graphcheck.settings import Settings
from graphcheck.zip_sniff import count_members, lists_member

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def archive(count: int, comment: bytes = b"", prefix: bytes = b"") -> bytes:
    """Return a zip of ``count`` small members, optionally commented or after other bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as made:
        for index in range(count):
            made.writestr(zipfile.ZipInfo(f"m{index}.txt", (1980, 1, 1, 0, 0, 0)), b"x")
        made.comment = comment
    return prefix + buffer.getvalue()


def claim(data: bytes, members: int) -> bytes:
    """Rewrite the end record's two member counts (this disk, total) to ``members``: a lie."""
    at = data.rfind(b"PK\x05\x06")
    count = members.to_bytes(2, "little")
    return data[:at + 8] + count + count + data[at + 12:]


@pytest.mark.parametrize(("comment", "prefix"), [(b"", b""), (b"saved by hand " * 100, b""),
                                                 (b"", b"#!/bin/sh\n" * 30)])
def test_count_agrees_with_zipfile(tmp_path: Path, comment: bytes, prefix: bytes) -> None:
    """Plain, commented and prefixed archives: the count is the number of members zipfile loads."""
    path = tmp_path / "a.zip"
    path.write_bytes(archive(37, comment, prefix))
    with zipfile.ZipFile(path) as opened:
        assert len(opened.namelist()) == 37
    assert count_members(path, 1000)[0] == 37
    assert count_members(path, 10)[0] == 11  # stops one past the limit
    assert lists_member(path, "m36.txt") and not lists_member(path, "config.json")


def test_end_record_claiming_few_members_is_still_bounded(tmp_path: Path) -> None:
    """An archive whose end record claims 3 members but whose directory lists 2,000 is refused."""
    path = tmp_path / "lying.keras"
    path.write_bytes(claim(archive(2000), 3))
    with zipfile.ZipFile(path) as opened:  # what zipfile would have built
        assert len(opened.namelist()) == 2000
    result = check_path(path, path.name, Settings(limits=Limits(max_zip_members=100)))
    found = [f.message for f in result.findings if f.rule == "unreadable-model"]
    assert found == ["the archive lists more than 100 members, over the limit (max_zip_members)"]


def test_directory_bytes_are_bounded(tmp_path: Path) -> None:
    """The whole central directory is read at once by zipfile: its size is bounded like a member's."""
    path = tmp_path / "long_names.keras"
    path.write_bytes(archive(1))
    result = check_path(path, path.name, Settings(limits=Limits(max_member_bytes=40)))
    assert [f.message for f in result.findings if f.rule == "unreadable-model"] == [
        # 46 header bytes and the name "m0.txt"
        "the archive's central directory takes 52 bytes, over the 40-byte limit (max_member_bytes)"]


def test_real_keras_archive_passes() -> None:
    """A .keras saved by Keras is counted as zipfile lists it, and loads."""
    path = FIXTURES / "keras" / "question.keras"
    with zipfile.ZipFile(path) as opened:
        assert count_members(path, 100)[0] == len(opened.namelist())
    assert not [f for f in check_path(path, path.name, Settings()).findings if f.rule == "unreadable-model"]
