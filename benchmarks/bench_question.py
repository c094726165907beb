"""Time ``graphcheck check`` on the question's model against Keras load_model + summary().

Both are timed as whole processes (imports included), the way a user or CI meets them:
``python benchmarks/bench_question.py [--runs N] [MODEL]``. Prints medians and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / "fixtures" / "keras" / "question.keras"

KERAS_SNIPPET = (
    "import keras, sys\n"
    "model = keras.models.load_model(sys.argv[1])\n"
    "model.summary()\n"
)


def timed(argv: list[str], env: dict[str, str]) -> float:
    """Run one process to completion and return its wall time in seconds."""
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def median_time(argv: list[str], runs: int, env: dict[str, str]) -> float:
    """Return the median wall time over ``runs`` runs, after one warm-up run."""
    timed(argv, env)
    return statistics.median(timed(argv, env) for _ in range(runs))


def main() -> None:
    """Measure both commands and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", nargs="?", default=str(DEFAULT_MODEL))
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    ours = median_time([sys.executable, "-m", "graphcheck", "check", args.model], args.runs, env)
    theirs = median_time([sys.executable, "-c", KERAS_SNIPPET, args.model], args.runs, env)
    print(f"model: {args.model}")
    print(f"graphcheck check:              {ours:.3f} s (median of {args.runs})")
    print(f"keras load_model + summary():  {theirs:.3f} s (median of {args.runs})")
    print(f"ratio: {theirs / ours:.1f}x faster")


if __name__ == "__main__":
    main()
