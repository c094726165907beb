"""Loaders: one per file format, each turning a file into a Model without executing it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from graphcheck.findings import LoadError
from graphcheck.graph import Model

# Built-in loaders have priorities 100 (h5) to 500 (onnx): a plugin loader below 100 is asked
# before all of them, above 500 after all of them.
LOADER_PROTOCOL = "a loader (name, priority, suffixes, sniff, finds, load)"


class Loader(Protocol):
    """What a loader plugin provides through the ``graphcheck.loaders`` entry point group.

    Loaders are asked in ``priority`` order (lower first, ties by entry point name), both by
    ``engine.load`` (``sniff``) and by folder walks (``finds``).
    """

    name: str  # the Model.format it produces ("keras", "h5", "onnx", ...)
    priority: int
    # Lower-case suffixes that name this format's files (".keras"): a folder walk reports an
    # unreadable or irregular file so named instead of skipping it.
    suffixes: frozenset[str]

    def sniff(self, path: Path, head: bytes) -> bool:
        """Return True when the file (or directory) looks like this loader's format."""

    def finds(self, path: Path, head: bytes | None) -> bool | None:
        """In a folder walk: True to check the file, False to skip it, None: not this loader's.

        A walk asks every loader first by name (``head`` None, nothing read), then, when none
        answered, with the file's first bytes.
        """

    def load(self, path: Path) -> Model:
        """Read the file into a Model; raise LoadError with a clear message when it cannot."""


@dataclass(frozen=True, kw_only=True)
class Sniffed:
    """What the first bytes of a file say it is."""

    kind: str
    description: str


MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"PK\x03\x04", "zip", "a zip archive"),
    (b"PK\x05\x06", "zip", "an empty zip archive"),
    (b"\x89HDF\r\n\x1a\n", "hdf5", "an HDF5 file"),
    (b"version https://git-lfs", "lfs", "a Git LFS pointer"),
    (b"\x93NUMPY", "numpy", "a NumPy array file (.npy)"),
    (b"\x1f\x8b", "gzip", "a gzip archive"),
    (b"\xfd7zXZ\x00", "xz", "an xz archive"),
)
# ModelProto fields that may follow ir_version (field 1) in serialisation order: 2-8 (tag byte).
ONNX_NEXT_TAGS = frozenset({0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42})
PICKLE = "a Python pickle (graphcheck never unpickles: loading one runs code from the file)"


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
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return Sniffed(kind="pickle", description=PICKLE)
    if head[4:8] == b"TFL3":
        return Sniffed(kind="tflite", description="a TensorFlow Lite model")
    if _is_text(head):
        return Sniffed(kind="text", description="a text file")
    if looks_like_onnx(head):
        return Sniffed(kind="onnx", description="an ONNX-like protobuf with the wrong suffix "
                       "(rename it to *.onnx to check it)")
    return Sniffed(kind="unknown", description="an unrecognised file")


def looks_like_onnx(head: bytes) -> bool:
    """Return True when the bytes start like a ModelProto: ir_version 3-63, then field 2-8."""
    return len(head) > 2 and head[0] == 0x08 and 3 <= head[1] <= 63 and head[2] in ONNX_NEXT_TAGS


def _is_text(head: bytes) -> bool:
    """Return True when the bytes are UTF-8 text without control characters (a README, YAML, CSV)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        # The head may end in the middle of a multi-byte character.
        if error.start < len(head) - 3:
            return False
        text = head[:error.start].decode("utf-8")
    return all(ch.isprintable() or ch in "\t\r\n\f" for ch in text)


def read_head(path: Path, size: int = 64) -> bytes:
    """Return the first bytes of a file, or b"" for a directory; refuse FIFOs and devices."""
    if path.is_dir():
        return b""
    if not path.is_file():  # reading a FIFO or a device could block forever
        raise LoadError(f"{path.name} is not a regular file (a FIFO, socket or device)")
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError as error:
        raise LoadError(f"{path.name} cannot be read: {error.strerror or error}") from None
