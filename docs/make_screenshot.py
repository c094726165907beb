"""Make docs/question_report.png: headless Chromium's view of the seed question's HTML report.

Run from anywhere: ``python docs/make_screenshot.py``. It writes the report of
``fixtures/keras/question.keras`` with ``graphcheck explain --format html`` into a temporary
folder, opens it offline in Chromium and saves a screenshot of the first screen (the graph and
the LSTM cell diagram) for the README.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "question_report.png"
SIZE = "1000,1180"


def main() -> int:
    """Write the report, screenshot it, and say where the PNG went."""
    browser = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                    if shutil.which(n)), None)
    if browser is None:
        print("no Chromium found (apt-get install chromium)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "report.html"
        subprocess.run([sys.executable, "-m", "graphcheck", "explain", "--format", "html", "-o",
                        str(page), "fixtures/keras/question.keras"], cwd=ROOT, check=True)
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--hide-scrollbars", f"--user-data-dir={folder}/profile",
                        f"--window-size={SIZE}", f"--screenshot={OUT}", page.as_uri()],
                       check=True, capture_output=True)
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
