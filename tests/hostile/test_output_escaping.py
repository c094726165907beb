"""Every registered format on hostile names: control characters, ANSI, bidi, lone surrogates."""

from __future__ import annotations

import json
import os
import re
import shutil
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphcheck.cli import main
from graphcheck.reporters import reporters
from graphcheck.reporters.escape import surrogates, terminal

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "keras" / "question.keras"
# A layer name that clears the screen, flips text direction, holds a C1 control, a lone
# surrogate and a forged GitHub workflow command on a second line.
HOSTILE = "n\x1b[2J\u202e\ud800\x85\x00\r\n::error::forged%0A"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e\ud800-\udfff]")


def hostile_keras(folder: Path, name: bytes) -> Path:
    """Write question.keras with a hostile layer and class name and without weights."""
    config = json.loads(zipfile.ZipFile(FIXTURE).read("config.json"))
    layer = config["config"]["layers"][1]
    layer["config"]["name"] = HOSTILE
    layer["class_name"] = "Mystery\x1b]0;title\x07"
    path = os.path.join(os.fsencode(folder), name)
    with open(path, "wb") as handle, zipfile.ZipFile(handle, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
    return Path(os.fsdecode(path))


# Every format registered for each command, whoever registered it: a new reporter is held to
# the same policy without being named here.
FORMATS = [*(("check", f) for f in sorted(reporters())),
           *(("explain", f) for f in sorted(reporters("explain")))]


@pytest.mark.parametrize("name", [b"model.keras", b"m\xff\x1b[31m.keras"])
@pytest.mark.parametrize(("command", "fmt"), FORMATS)
def test_every_format_escapes_hostile_names(tmp_path: Path, command: str, fmt: str,
                                            name: bytes) -> None:
    (tmp_path / "in").mkdir()
    hostile_keras(tmp_path / "in", name)
    out = tmp_path / "report"
    result = CliRunner().invoke(main, [command, "--format", fmt, "--output", str(out),
                                       str(tmp_path / "in")])
    assert result.exit_code in (0, 1) and not isinstance(result.exception, Exception), result.output
    text = out.read_bytes().decode("utf-8")  # strict: a lone surrogate could not be written
    assert not RAW.search(text.replace("\r\n", "\n")), repr(RAW.search(text))
    if command == "check" or fmt == "text":  # both quote the layer name; explain JSON need not
        assert "forged" in text
    if fmt in ("json", "sarif"):
        json.loads(text)
    elif fmt == "junit":
        ET.fromstring(text.encode("utf-8"))
    elif fmt == "github":
        assert all(line.startswith("::") for line in text.splitlines())
        assert not any(line.startswith("::error::forged") for line in text.splitlines())


def test_the_formats_under_test_are_every_registered_one() -> None:
    from graphcheck.reporters import commands_of, registered

    wanted = {(c, name) for name, r in registered().items() for c in commands_of(r)}
    assert set(FORMATS) == wanted and ("check", "sarif") in wanted


def test_policies_show_each_character_as_an_escape() -> None:
    assert terminal("a\x1b[1m\u202e\x85\udcff\ud800") == "a\\x1b[1m\\u202e\\x85\\xff\\ud800"
    assert terminal("a\nb", keep="\n") == "a\nb"
    assert surrogates("\x1b\udce9\ud800é") == "\x1b\\xe9\\ud800é"


def test_a_layer_name_with_a_lone_surrogate_explains_as_text(tmp_path: Path) -> None:
    path = hostile_keras(tmp_path, b"m.keras")
    result = CliRunner().invoke(main, ["explain", str(path)])
    assert result.exit_code == 0, result.output
    assert "\\ud800" in result.output
    shutil.rmtree(tmp_path)
