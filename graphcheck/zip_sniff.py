"""Walk a zip archive's central directory as ``zipfile`` would, entry by entry, never inflating it.

``zipfile`` trusts nothing but the directory's size from the end record: it reads that many
bytes and makes a ZipInfo of every entry in them, whatever member count the end record claims.
Counting entries here, the same way and with a stop, bounds what it will build.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import BinaryIO

END = b"PK\x05\x06"
END64_LOCATOR = b"PK\x06\x07"
END64 = b"PK\x06\x06"
CENTRAL = b"PK\x01\x02"
# The end record plus the longest comment a zip may carry.
TAIL_BYTES = 22 + 65_535
# Sizes of a central directory header, the zip64 end record and its locator (APPNOTE 4.3).
HEADER_BYTES, END64_BYTES, LOCATOR_BYTES = 46, 56, 20
# Directory bytes read at most while looking for one name (a .keras lists three members).
MAX_DIRECTORY_BYTES = 1024 * 1024


def lists_member(path: Path, name: str) -> bool:
    """Return True when the archive's central directory lists ``name``; False when unreadable."""
    wanted = name.encode("utf-8")
    try:
        with path.open("rb") as handle:
            for entry, read in entries(handle):
                if entry == wanted:
                    return True
                if read > MAX_DIRECTORY_BYTES:
                    return False
    except (OSError, struct.error, ValueError):
        return False
    return False


def count_members(path: Path, stop_after: int) -> tuple[int, int]:
    """Return (entries zipfile would load, up to ``stop_after + 1``; directory bytes it would read)."""
    with path.open("rb") as handle:
        located = directory(handle)
        if located is None:
            return 0, 0
        return sum(1 for _ in islice(entries(handle), stop_after + 1)), located[1]


def directory(handle: BinaryIO) -> tuple[int, int] | None:
    """Return where zipfile reads the central directory and its size in bytes, or None (no end record)."""
    handle.seek(0, 2)
    tail_start = max(0, handle.tell() - TAIL_BYTES)
    handle.seek(tail_start)
    tail = handle.read()
    at = tail.rfind(END)
    if at < 0 or at + 22 > len(tail):
        return None
    location = tail_start + at
    size: int = struct.unpack("<I", tail[at + 12:at + 16])[0]
    if location >= LOCATOR_BYTES:  # zip64: the sizes are in the zip64 end record before it
        handle.seek(location - LOCATOR_BYTES)
        if handle.read(4) == END64_LOCATOR:
            handle.seek(location - LOCATOR_BYTES - END64_BYTES)
            record = handle.read(END64_BYTES)
            if len(record) == END64_BYTES and record[:4] == END64:
                size = struct.unpack("<Q", record[40:48])[0]
                return location - LOCATOR_BYTES - END64_BYTES - size, size
    return location - size, size


def entries(handle: BinaryIO) -> Iterator[tuple[bytes, int]]:
    """Yield (name, directory bytes read so far) of each entry zipfile would find, streaming."""
    located = directory(handle)
    if located is None:
        return
    start, size = located
    if start < 0:
        return
    handle.seek(start)
    read = 0
    while read < size:
        header = handle.read(HEADER_BYTES)
        if len(header) < HEADER_BYTES or header[:4] != CENTRAL:
            return  # zipfile stops here too, with BadZipFile
        name_len, extra_len, comment_len = struct.unpack("<HHH", header[28:34])
        name = handle.read(name_len)
        handle.seek(extra_len + comment_len, 1)
        read += HEADER_BYTES + name_len + extra_len + comment_len
        yield name, read
