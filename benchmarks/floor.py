"""The bare-parse floor: the least any reader of these files must do, as one process.

``python benchmarks/floor.py FILE_OR_FOLDER...``: python start, then per file only what it
takes to get at the architecture and the weight shapes: ``.keras`` zip + ``config.json`` +
an h5py dataset-shape walk, ``.h5`` ``model_config`` + the same walk, ``.onnx``
``onnx.load`` without external data. No graph, no shapes, no rules, no report. Like graphcheck's
command line, it asks OpenBLAS for one thread (numpy's idle worker spins; neither multiplies a
matrix) and freezes the heap at exit (no shutdown collections), so the floor carries no cost
graphcheck avoids.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any


def _shapes(group: Any) -> list[tuple[int, ...]]:
    """Return every dataset shape below an HDF5 group."""
    import h5py

    found: list[tuple[int, ...]] = []
    group.visititems(lambda _, item: found.append(item.shape)
                     if isinstance(item, h5py.Dataset) else None)
    return found


def read(path: Path) -> int:
    """Parse one model file the cheapest way; return how many weights or nodes it holds.

    The format is told by the first bytes, as graphcheck does (a fixture is an HDF5 file named
    ``.keras``); a file the bare parse cannot read counts nothing, it does not stop the run.
    """
    with path.open("rb") as handle:
        head = handle.read(8)
    try:
        return _read(path, head)
    except Exception:
        return 0


def _read(path: Path, head: bytes) -> int:
    """Parse one file whose first bytes are ``head``."""
    if not head.startswith((b"PK", b"\x89HDF")):
        import onnx

        return len(onnx.load(str(path), load_external_data=False).graph.node)
    import h5py

    if head.startswith(b"\x89HDF"):
        with h5py.File(path, "r") as h5:
            json.loads(h5.attrs.get("model_config", "{}"))
            return len(_shapes(h5))
    with zipfile.ZipFile(path) as archive:
        json.loads(archive.read("config.json"))
        if "model.weights.h5" not in archive.namelist():
            return 0
        with archive.open("model.weights.h5") as member, h5py.File(member, "r") as h5:
            return len(_shapes(h5))


def main() -> None:
    """Read every file named or found in the folders named."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before h5py imports numpy
    atexit.register(gc.freeze)
    total = 0
    for name in sys.argv[1:]:
        root = Path(name)
        for path in sorted(root.iterdir()) if root.is_dir() else [root]:
            if path.suffix in (".keras", ".h5", ".onnx"):
                total += read(path)
    print(total)


if __name__ == "__main__":
    main()
