"""What a check imports: only what the file and the chosen output need (speed is in benchmarks/)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
QUESTION = FIXTURES / "keras" / "question.keras"
DRAWING = ("graphcheck.reporters.picture", "graphcheck.reporters.svg", "graphcheck.reporters.html",
           "graphcheck.reporters.dot", "graphcheck.reporters.mermaid", "xml")


def modules_after(*args: str) -> set[str]:
    """Return the modules the checking process holds after ``graphcheck ARGS`` (read children aside)."""
    code = ("import sys\nfrom graphcheck.cli import main\ntry:\n"
            f"    main({list(args)!r})\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(sys.modules)))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(run.stdout.strip().splitlines()[-1].split())


def test_a_text_check_of_a_keras_file_imports_no_drawing_reporter() -> None:
    """Pictures, SVG, HTML and other formats' reporters wait until their format is chosen."""
    text = modules_after("check", str(QUESTION))
    assert "graphcheck.reporters.text" in text  # the probe sees the reporter that is used
    assert not {name for name in text if name.startswith(DRAWING)}
    assert not {name for name in text if name.startswith("graphcheck.reporters.")} - {
        "graphcheck.reporters.text", "graphcheck.reporters.escape"}
    html = modules_after("check", "--format", "html", str(QUESTION))
    assert {"graphcheck.reporters.html", "graphcheck.reporters.svg"} <= html
