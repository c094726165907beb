"""Lambda bytecode is described, never run: the marker a saved Lambda would write never appears."""

from __future__ import annotations

import base64
import json
import marshal
import os
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import pytest

from graphcheck.loaders.marshal_reader import MarshalError, describe_base64, read_code

PYENV = Path("/root/.pyenv/versions")


def _save_marker_lambda(tmp_path: Path, marker: Path) -> Path:
    """Save a real Keras 3 model whose Lambda writes ``marker`` when it runs."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keras = pytest.importorskip("keras")
    # The path is a constant in the code (not a closure), as an attacker would write it.
    function = eval(f"lambda x: (open({str(marker)!r}, 'w').write('ran'), x)[1]")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(function, name="lam")])
    path = tmp_path / "lambda.keras"
    model.save(path)
    marker.unlink()  # Keras itself ran the function while building the model
    return path


def _stored_code(path: Path) -> str:
    """Return the base64 bytecode Keras stored for the Lambda."""
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    return str(config["config"]["layers"][1]["config"]["function"]["config"]["code"])


def test_lambda_marker_never_appears(tmp_path: Path) -> None:
    """Check and explain (as subprocesses) report the Lambda's code and never run it."""
    marker = tmp_path / "MARKER"
    path = _save_marker_lambda(tmp_path, marker)
    assert not marker.exists()
    outputs = []
    for command in ("check", "explain"):
        run = subprocess.run([sys.executable, "-m", "graphcheck", command, str(path)],
                             capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert "Traceback" not in run.stderr
        outputs.append(run.stdout)
        assert not marker.exists(), f"graphcheck {command} ran the Lambda"
    assert "unsafe-code" in outputs[0]
    assert "uses open, write" in outputs[0] and "'w', 'ran'" in outputs[0]


def test_the_stored_lambda_really_writes_the_marker(tmp_path: Path) -> None:
    """The fixture is live: running the stored bytecode (trusted here: we just wrote it) writes it."""
    marker = tmp_path / "MARKER"
    code = marshal.loads(base64.b64decode(_stored_code(_save_marker_lambda(tmp_path, marker))))
    types.FunctionType(code, {"__builtins__": __builtins__})(1)
    assert marker.read_text() == "ran"


def test_reader_matches_marshal_on_this_python() -> None:
    """Names, strings and nested code come out as CPython's own code object has them."""
    def sample(x: int) -> object:
        inner = lambda y: __import__("os").getcwd() + y  # noqa: E731
        return {"a": (1, 2**80, -(2**70), 1.5, 2j, b"raw", frozenset({3}), None, ...)}, inner, x

    code = read_code(marshal.dumps(sample.__code__))
    assert code.name == "sample" and code.line == sample.__code__.co_firstlineno
    assert {"__import__", "getcwd"} <= set(code.names)
    assert "os" in code.strings and "a" in code.strings


@pytest.mark.parametrize("version", ["3.8", "3.9", "3.10", "3.12", "3.13"])
def test_reader_reads_code_marshalled_by_other_pythons(version: str) -> None:
    """Keras files carry the bytecode of whatever Python saved them; the layouts differ by version."""
    found = sorted(PYENV.glob(f"{version}.*/bin/python"))
    if not found:
        pytest.skip(f"no Python {version} here")
    script = ("import base64, marshal\nf = lambda x: open('/tmp/m', 'w').write(str(x))\n"
              "print(base64.b64encode(marshal.dumps(f.__code__)).decode())")
    encoded = subprocess.run([str(found[0]), "-c", script], capture_output=True, text=True,
                             check=True, timeout=60).stdout.strip()
    assert describe_base64(encoded).endswith("uses open, write, str; strings '/tmp/m', 'w'")


@pytest.mark.parametrize("data", [b"", b"\xe3", b"\xe3" + b"\x00" * 20, b"(\xff\xff\xff\x7f",
                                  b"r\x05\x00\x00\x00", b"[" * 10_000])
def test_reader_refuses_garbage_quickly(data: bytes) -> None:
    """Truncated, oversized, self-referencing and deeply nested data raise MarshalError only."""
    with pytest.raises(MarshalError):
        read_code(data)


def test_a_code_object_referenced_many_times_is_summarised_once() -> None:
    """30k references to one code object with 30k names: linear, bounded (quadratic before)."""
    script = (
        "import marshal, sys\n"
        "from graphcheck.loaders.marshal_reader import MAX_KEPT, read_code\n"
        "names = tuple(f'n{i}' for i in range(30000))\n"
        "inner = compile('0', 'x', 'eval').replace(co_names=names)\n"
        "outer = compile('0', 'y', 'eval').replace(co_consts=(inner,) * 30000)\n"
        "code = read_code(marshal.dumps(outer))\n"
        "assert len(code.names) == MAX_KEPT, len(code.names)\n"
        "print('ok')\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          timeout=120, check=False)
    assert done.stdout.strip() == b"ok", done.stderr.decode()
