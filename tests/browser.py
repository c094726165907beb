"""Headless Chromium for the picture tests: screenshots, the DOM after scripts ran, PNG pixels."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


def browser() -> str:
    """Return the installed Chromium, or skip the test (the only reason to skip)."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium installed (.ci/run installs it)")


def _run(args: list[str], page: Path, tmp: Path, fragment: str = "") -> subprocess.CompletedProcess[bytes]:
    """Run headless Chromium on a local page (``#fragment``) with a profile of its own, offline."""
    command = [browser(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               f"--user-data-dir={tmp / 'profile'}", "--disable-extensions", *args,
               page.resolve().as_uri() + (f"#{fragment}" if fragment else "")]
    return subprocess.run(command, capture_output=True, timeout=120, check=False)


def screenshot(page: Path, tmp: Path, size: str = "1200,900") -> Path:
    """Take a screenshot of page and return the PNG's path."""
    png = tmp / "shot.png"
    done = _run([f"--screenshot={png}", f"--window-size={size}", "--hide-scrollbars"], page, tmp)
    assert png.exists(), done.stderr.decode(errors="replace")[-2000:]
    return png


def dom(page: Path, tmp: Path, fragment: str = "") -> str:
    """Return the page's DOM after its scripts ran (``--dump-dom``)."""
    done = _run(["--dump-dom", "--virtual-time-budget=2000"], page, tmp, fragment)
    return done.stdout.decode("utf-8", errors="replace")


def pixels(png: Path) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA PNG (what Chromium writes) into width, height and pixel rows."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, chunks, header = 8, [], b""
    while at < len(data):
        (length,), kind = struct.unpack(">I", data[at:at + 4]), data[at + 4:at + 8]
        body = data[at + 8:at + 8 + length]
        header = body if kind == b"IHDR" else header
        chunks += [body] if kind == b"IDAT" else []
        at += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6), (depth, color)
    step = 3 if color == 2 else 4
    return width, height, _unfilter(zlib.decompress(b"".join(chunks)), width * step, height, step)


def _unfilter(raw: bytes, stride: int, height: int, step: int) -> list[bytes]:
    """Undo PNG's per-row filters (None, Sub, Up, Average, Paeth)."""
    rows, prior = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up, corner = prior[i], prior[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                line[i] = (line[i] + _paeth(left, up, corner)) & 0xFF
        rows.append(bytes(line))
        prior = line
    return rows


def _paeth(a: int, b: int, c: int) -> int:
    """Return the Paeth predictor."""
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def ink(png: Path) -> tuple[float, int]:
    """Return the share of non-white pixels and the number of distinct colours in a screenshot."""
    width, _, rows = pixels(png)
    step = len(rows[0]) // width
    seen: set[bytes] = set()
    dark = 0
    for row in rows[::2]:  # every other row and column: plenty for "not blank", 4x faster
        for x in range(0, width * step, 2 * step):
            pixel = row[x:x + 3]
            seen.add(pixel)
            dark += pixel != b"\xff\xff\xff"
    return dark / (len(rows[::2]) * len(range(0, width * step, 2 * step))), len(seen)
