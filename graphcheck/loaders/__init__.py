"""Loaders: one per file format, each turning a file into a Model without executing it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from graphcheck.graph import Model


class Loader(Protocol):
    """What a loader plugin provides through the ``graphcheck.loaders`` entry point group."""

    name: str

    def sniff(self, path: Path, head: bytes) -> bool:
        """Return True when the file (or directory) looks like this loader's format."""

    def load(self, path: Path) -> Model:
        """Read the file into a Model; raise LoadError with a clear message when it cannot."""


@dataclass(frozen=True, kw_only=True)
class Sniffed:
    """What the first bytes of a file say it is."""

    kind: str
    description: str


MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"PK\x03\x04", "zip", "a zip archive"),
    (b"\x89HDF\r\n\x1a\n", "hdf5", "an HDF5 file"),
    (b"version https://git-lfs", "lfs", "a Git LFS pointer"),
)


def sniff_bytes(head: bytes) -> Sniffed:
    """Classify a file by its first bytes, for wrong-suffix messages and folder walks."""
    for magic, kind, description in MAGIC:
        if head.startswith(magic):
            return Sniffed(kind=kind, description=description)
    stripped = head.lstrip()
    if stripped.startswith((b"{", b"[")):
        return Sniffed(kind="json", description="a JSON document")
    if not head:
        return Sniffed(kind="empty", description="an empty file")
    return Sniffed(kind="unknown", description="an unrecognised file")


def read_head(path: Path, size: int = 64) -> bytes:
    """Return the first bytes of a file, or b"" for a directory."""
    if path.is_dir():
        return b""
    with path.open("rb") as handle:
        return handle.read(size)
