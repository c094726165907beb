"""How the HTML report scales: page size, time to write it, and time for Chromium to draw it.

``python benchmarks/pictures.py [--runs 5]``. Reports are generated (a chain of layers of three
alternating types, so nothing collapses, with a skip connection every 7 layers): the drawing
code is what is measured, not reading a file. The anchor is the 3-layer report, measured in
the same rounds (alternating order) so that a busy machine slows both alike; medians.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graphcheck.explanations.report import ModelReport, NodeReport  # noqa: E402
from graphcheck.reporters.html import page  # noqa: E402

SIZES = (3, 3000, 10000)


def report(layers: int) -> ModelReport:
    """Return a generated report of ``layers`` layers after an input."""
    nodes = [NodeReport(name="in", type="InputLayer", inputs=(), input_shapes=(),
                        output_shapes=((None, 16),), params=0)]
    for i in range(layers):
        inputs = (nodes[-1].name,) + ((nodes[-3].name,) if i % 7 == 6 else ())
        nodes.append(NodeReport(name=f"layer_{i}", type=("Dense", "ReLU", "Dropout")[i % 3],
                                inputs=inputs, input_shapes=((None, 16),) * len(inputs),
                                output_shapes=((None, 16),), params=272 if i % 3 == 0 else 0))
    return ModelReport(path=f"generated_{layers}.keras", format="keras", nodes=tuple(nodes),
                       total_params=sum(n.params or 0 for n in nodes))


def write_time(layers: int, runs: int) -> tuple[float, int]:
    """Return the median seconds to write the page of a generated report, and its size."""
    model = report(layers)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        text = page([model])
        times.append(time.perf_counter() - start)
    return statistics.median(times), len(text.encode())


def draw_time(browser: str, html: Path, folder: Path) -> float:
    """Return the seconds a headless Chromium process takes to open, lay out and screenshot a page."""
    start = time.perf_counter()
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    f"--user-data-dir={folder / 'profile'}", "--window-size=1200,900",
                    f"--screenshot={folder / 'shot.png'}", html.as_uri()],
                   check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    """Print one row per size: page size, write time, Chromium time and its ratio to the anchor."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    browser = shutil.which("chromium") or shutil.which("google-chrome")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        pages = {}
        for layers in SIZES:
            pages[layers] = folder / f"{layers}.html"
            pages[layers].write_text(page([report(layers)]), encoding="utf-8")
        drawn: dict[int, list[float]] = {n: [] for n in SIZES}
        for round_ in range(runs if browser else 0):
            for layers in (SIZES if round_ % 2 == 0 else SIZES[::-1]):
                drawn[layers].append(draw_time(str(browser), pages[layers], folder))
        print("| layers | page | write (median) | Chromium open + screenshot (median) | ratio to 3 layers |")
        print("|---:|---:|---:|---:|---:|")
        anchor = statistics.median(drawn[SIZES[0]]) if browser else 0.0
        for layers in SIZES:
            seconds, size = write_time(layers, runs)
            shown = statistics.median(drawn[layers]) if browser else float("nan")
            print(f"| {layers:,} | {size / 1024:,.0f} KiB | {seconds:.2f} s | {shown:.2f} s "
                  f"| {shown / anchor if anchor else float('nan'):.2f}x |")


if __name__ == "__main__":
    main()
