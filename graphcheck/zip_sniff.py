"""Tell what a zip archive holds from its end record and central directory, never inflating it."""

from __future__ import annotations

import struct
from pathlib import Path

END = b"PK\x05\x06"
CENTRAL = b"PK\x01\x02"
# The end record plus the longest comment a zip may carry.
TAIL_BYTES = 22 + 65_535
# Directory bytes read at most while looking for one name (a .keras lists three members).
MAX_DIRECTORY_BYTES = 1024 * 1024


def lists_member(path: Path, name: str) -> bool:
    """Return True when the archive's central directory lists ``name``; False when unreadable."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_BYTES))
            tail = handle.read()
            at = tail.rfind(END)
            if at < 0 or at + 22 > len(tail):
                return False
            length, offset = struct.unpack("<II", tail[at + 12:at + 20])
            handle.seek(offset)
            directory = handle.read(min(length, MAX_DIRECTORY_BYTES))
    except (OSError, struct.error, ValueError):
        return False
    return _names_include(directory, name.encode("utf-8"))


def _names_include(directory: bytes, wanted: bytes) -> bool:
    """Walk central directory headers (46 bytes + name + extra + comment) looking for a name."""
    pos = 0
    while pos + 46 <= len(directory) and directory[pos:pos + 4] == CENTRAL:
        name_len, extra_len, comment_len = struct.unpack("<HHH", directory[pos + 28:pos + 34])
        if directory[pos + 46:pos + 46 + name_len] == wanted:
            return True
        pos += 46 + name_len + extra_len + comment_len
    return False
