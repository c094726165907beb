"""What a check imports: only what the file and the chosen output need (speed is in benchmarks/)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graphcheck.cli import one_blas_thread

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
QUESTION = FIXTURES / "keras" / "question.keras"
LAMBDA = FIXTURES / "hostile" / "lambda_tf_keras.h5"
DRAWING = ("graphcheck.reporters.picture", "graphcheck.reporters.svg", "graphcheck.reporters.html",
           "graphcheck.reporters.dot", "graphcheck.reporters.mermaid", "graphcheck.explanations",
           "xml")


def imported(*args: str, cwd: Path | None = None) -> set[str]:
    """Return every module ``graphcheck ARGS`` imports, in the process and its read children.

    ``-X importtime`` sees the read children's imports, but not modules imported through
    ``importlib.import_module`` (entry points): the process's own ``sys.modules`` adds those.
    """
    code = ("import sys\nfrom graphcheck.cli import main\ntry:\n"
            f"    main({list(args)!r})\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(sys.modules)))\n")
    run = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True,
                         text=True, check=True, cwd=cwd)
    names = set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)$", run.stderr, re.M))
    return names | set(run.stdout.strip().splitlines()[-1].split())


def test_a_text_check_of_a_keras_file_imports_no_drawing_reporter() -> None:
    """Pictures, SVG, HTML and other formats' reporters wait until their format is chosen."""
    text = imported("check", str(QUESTION))
    assert "graphcheck.reporters.text" in text  # the probe sees the reporter that is used
    assert not {name for name in text if name.startswith(DRAWING)}
    assert {name for name in text if name.startswith("graphcheck.reporters.")} == {
        "graphcheck.reporters.text", "graphcheck.reporters.escape"}
    html = imported("check", "--format", "html", str(QUESTION))
    assert {"graphcheck.reporters.html", "graphcheck.reporters.svg"} <= html


def test_a_check_without_lambda_config_or_baseline_imports_none_of_their_readers(
        tmp_path: Path) -> None:
    """The bytecode describer, TOML and the baseline are imported by the files that need them."""
    shutil.copy(QUESTION, tmp_path / "model.keras")
    plain = imported("check", "model.keras", cwd=tmp_path)
    assert not plain & {"graphcheck.loaders.marshal_reader", "tomllib", "graphcheck.baseline"}
    shutil.copy(LAMBDA, tmp_path / "lambda.h5")
    (tmp_path / "graphcheck.toml").write_text("select = ['ALL']\n")
    used = imported("check", "--baseline", "base.json", "lambda.h5", cwd=tmp_path)
    assert {"graphcheck.loaders.marshal_reader", "tomllib", "graphcheck.baseline"} <= used


def test_the_command_line_gives_numpy_one_blas_thread_unless_the_user_chose() -> None:
    """No matrices are multiplied: OpenBLAS's spinning worker threads are not started."""
    code = ("import os\nfrom graphcheck.cli import main\ntry:\n"
            f"    main(['check', {str(QUESTION)!r}])\nexcept SystemExit:\n    pass\n"
            "print(os.environ.get('OPENBLAS_NUM_THREADS'))\n")
    environ = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    for chosen, expected in ((None, "1"), ("3", "3")):
        env = environ if chosen is None else {**environ, "OPENBLAS_NUM_THREADS": chosen}
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env=env)
        assert run.stdout.strip().splitlines()[-1] == expected


def test_a_process_that_already_loaded_numpy_keeps_its_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Too late to matter once numpy is loaded (a notebook, a test run): nothing is changed."""
    import numpy  # noqa: F401

    environ: dict[str, str] = {}
    one_blas_thread(environ)
    assert environ == {}
    monkeypatch.delitem(sys.modules, "numpy")
    one_blas_thread(environ)
    assert environ == {"OPENBLAS_NUM_THREADS": "1"}


def test_the_heap_is_frozen_at_exit_after_the_report_is_written(tmp_path: Path) -> None:
    """The last collections skip the heap; the report (stdout, or -o) is complete all the same."""
    code = ("import atexit, gc\n"
            "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"
            "from graphcheck.cli import main\n"
            f"main(['check', '--format', 'json', '--exit-zero', {str(QUESTION)!r}, "
            f"{str(LAMBDA)!r}, '-o', {str(tmp_path / 'report.json')!r}])\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip().splitlines()[-1] == "frozen at exit: True"
    report = json.loads((tmp_path / "report.json").read_text())
    assert [f["rule"] for f in report["findings"]] == ["unsupported-layer", "unsafe-code"]
