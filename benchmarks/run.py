"""Time graphcheck on each benchmark case against its anchor, side by side in the same run.

``python benchmarks/make_cases.py`` first (large cases go to a temporary folder), then
``python benchmarks/run.py [--cases FOLDER] [--runs 7] [--only NAME ...]``.

Every measurement is a whole process (python start and imports included: what a user and CI
pay). Each round runs a case and its anchor one after the other, alternating which goes
first, so a busy machine slows both alike; the table shows medians over the rounds, their
ratio, the median CPU time (user + system, less sensitive to other load than wall time) and
the peak resident memory of the process and the children it waited for (``wait4``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from make_cases import DEFAULT_FOLDER  # noqa: E402

PY = sys.executable
GRAPHCHECK = [PY, "-m", "graphcheck", "check"]
FLOOR = [PY, str(ROOT / "benchmarks" / "floor.py")]
KERAS = [PY, "-c", "import keras, sys; keras.models.load_model(sys.argv[1]).summary()"]
ONNX_OWN = [PY, "-c", "import onnx, sys; m = onnx.load(sys.argv[1]); "
                      "m = onnx.shape_inference.infer_shapes(m); onnx.checker.check_model(m)"]
ONNX_LOAD = [PY, "-c", "import onnx, sys; onnx.load(sys.argv[1], load_external_data=False)"]


@dataclass(frozen=True, kw_only=True)
class Case:
    """One row: a command, its anchor, and the target the ratio or time is held to."""

    name: str
    command: list[str]
    anchor_name: str
    anchor: list[str]
    target: str


@dataclass(frozen=True, kw_only=True)
class Sample:
    """One process run: wall seconds, CPU seconds, peak resident MiB."""

    wall: float
    cpu: float
    peak: float


def measure(argv: list[str], env: dict[str, str]) -> Sample:
    """Run one process to completion; fail loudly if it crashed (exit status 0 or 1 is fine)."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                               cwd=ROOT)
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed ({process.returncode}):\n{errors.decode()[-2000:]}")
    return Sample(wall=wall, cpu=usage.ru_utime + usage.ru_stime, peak=usage.ru_maxrss / 1024)


def cases(folder: Path, only: list[str] | None = None) -> list[Case]:
    """Return the benchmark rows; those whose files are missing are left out with a note."""
    question = str(ROOT / "fixtures" / "keras" / "question.keras")
    rows = [
        Case(name="question.keras", command=[*GRAPHCHECK, question], anchor_name="bare-parse floor",
             anchor=[*FLOOR, question], target="<= 1.5x floor"),
        Case(name="question.keras", command=[*GRAPHCHECK, question],
             anchor_name="keras load_model + summary", anchor=[*KERAS, question],
             target=">= 12x faster"),
        Case(name="graphcheck --help", command=[PY, "-m", "graphcheck", "--help"],
             anchor_name="python -c pass", anchor=[PY, "-c", "pass"], target="<= 0.15 s"),
    ]
    big = [
        ("folder", "folder (default --jobs)", [*GRAPHCHECK, "{folder}"], "bare-parse floor",
         [*FLOOR, "{folder}"], "<= 2x floor"),
        ("folder", "folder (default --jobs)", [*GRAPHCHECK, "{folder}"], "--jobs 1",
         [*GRAPHCHECK, "--jobs", "1", "{folder}"], "<= 1x"),
        ("deep_10000.keras", "deep_10000.keras", [*GRAPHCHECK, "{deep_10000.keras}"],
         "deep_2000.keras", [*GRAPHCHECK, "{deep_2000.keras}"], "<= 3 s, <= 6x"),
        ("embedding_1gib.keras", "embedding_1gib.keras", [*GRAPHCHECK, "{embedding_1gib.keras}"],
         "same model as .h5", [*GRAPHCHECK, "{embedding_1gib.h5}"], "<= 1.5 s, <= 1.5x"),
        ("embedded_1500mb.onnx", "embedded_1500mb.onnx", [*GRAPHCHECK, "{embedded_1500mb.onnx}"],
         "onnx.load", [*ONNX_LOAD, "{embedded_1500mb.onnx}"], "<= 2 s, <= 200 MiB"),
        ("chain_10000.onnx", "chain_10000.onnx", [*GRAPHCHECK, "{chain_10000.onnx}"],
         "onnx load+infer+check", [*ONNX_OWN, "{chain_10000.onnx}"], "<= 2x"),
        ("same_name_10000.onnx", "same_name_10000.onnx", [*GRAPHCHECK, "{same_name_10000.onnx}"],
         "chain_10000.onnx (distinct names)", [*GRAPHCHECK, "{chain_10000.onnx}"], "<= 1.3x"),
        ("same_name_40000.onnx", "same_name_40000.onnx", [*GRAPHCHECK, "{same_name_40000.onnx}"],
         "same_name_10000.onnx", [*GRAPHCHECK, "{same_name_10000.onnx}"], "<= 5x (linear: 4x)"),
        # Two bodies per If: 4,800 subgraphs, under max_onnx_graphs.
        ("if_2400.onnx", "if_2400.onnx", [*GRAPHCHECK, "{if_2400.onnx}"],
         "if_600.onnx", [*GRAPHCHECK, "{if_600.onnx}"], "<= 6x (ours linear; onnx inference is not)"),
        ("external_4gib.onnx", "external_4gib.onnx", [*GRAPHCHECK, "{external_4gib.onnx}"],
         "onnx.load (no external data)", [*ONNX_LOAD, "{external_4gib.onnx}"], "<= 150 MiB"),
    ]
    for needed, name, command, anchor_name, anchor, target in big:
        if not (folder / needed).exists():
            if not only or name in only:
                print(f"note: {folder / needed} missing (run benchmarks/make_cases.py); skipped")
            continue
        rows.append(Case(name=name, command=[_fill(a, folder) for a in command],
                         anchor_name=anchor_name, anchor=[_fill(a, folder) for a in anchor],
                         target=target))
    return rows


def _fill(arg: str, folder: Path) -> str:
    """Replace ``{file}`` by the case file's path in the cases folder."""
    return str(folder / arg[1:-1]) if arg.startswith("{") else arg


def run_case(case: Case, runs: int, env: dict[str, str]) -> tuple[list[Sample], list[Sample]]:
    """Run the case and its anchor interleaved, after one warm-up each; return both samples."""
    measure(case.command, env)
    measure(case.anchor, env)
    ours: list[Sample] = []
    theirs: list[Sample] = []
    for index in range(runs):
        pair = [(case.command, ours), (case.anchor, theirs)]
        for argv, into in pair if index % 2 == 0 else reversed(pair):
            into.append(measure(argv, env))
    return ours, theirs


def median(samples: list[Sample], field: str) -> float:
    """Return the median of one field over the samples."""
    return float(statistics.median(getattr(s, field) for s in samples))


def main() -> None:
    """Measure every case and print the table (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--only", nargs="*", help="case names to run (default: all)")
    args = parser.parse_args()
    # An installed package has compiled bytecode; let the warm-up runs write it here too.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow", PYTHONPATH=str(ROOT))
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
          f"medians of {args.runs} interleaved runs")
    print("| case | anchor | case wall | anchor wall | ratio | case CPU | anchor CPU "
          "| case peak | anchor peak | target |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case in cases(args.cases, args.only):
        if args.only and case.name not in args.only:
            continue
        ours, theirs = run_case(case, args.runs, env)
        wall, anchor_wall = median(ours, "wall"), median(theirs, "wall")
        print(f"| {case.name} | {case.anchor_name} | {wall:.2f} s | {anchor_wall:.2f} s "
              f"| {wall / anchor_wall:.2f}x | {median(ours, 'cpu'):.2f} s "
              f"| {median(theirs, 'cpu'):.2f} s | {max(s.peak for s in ours):.0f} MiB "
              f"| {max(s.peak for s in theirs):.0f} MiB | {case.target} |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
