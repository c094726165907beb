"""A dataset's shape read from its HDF5 object header, without HDF5 opening the dataset.

``H5Dopen`` builds a whole dataset object (type, layout, fill value, filters, property lists)
to answer one question here, the shape: on a 10,000-layer ``.keras`` the 20,000 opens were a
third of the run. The shape is the dataspace message of the object header, whose address the
HDF5 visit already gives. Only the simple, common layout is read here (a version 1 header,
the dataspace in its first block, not shared); anything else returns None and the caller
opens the dataset with HDF5 as before, so an unusual file is read exactly as it was.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

# Version 1 object header: version, reserved, message count, reference count, header size, pad.
HEADER = struct.Struct("<BxHII4x")
MESSAGE = struct.Struct("<HHB3x")  # type, size of its data, flags, reserved
DATASPACE = 0x0001
SHARED = 0x02  # message flag: the data is a reference to a message stored elsewhere
MAX_RANK = 32  # H5S_MAX_RANK
DATASPACE_PREFIX = 8  # version 1: version, rank, flags, 5 reserved bytes; then the dimensions
WIDTHS = {2: "H", 4: "I", 8: "Q"}  # struct codes of the usual sizes of lengths (16, 32 are rare)
READ_SIZE = 512  # HDF5's own first read of an object header (H5O_SPEC_READ_SIZE)

Pread = Callable[[int, int], bytes]


@dataclass(frozen=True, kw_only=True)
class HeaderReader:
    """Reads object headers of one open HDF5 file from the bytes HDF5 reads."""

    pread: Pread  # (offset, size) -> the bytes there (fewer at the end of the file)
    lengths: int  # the superblock's "size of lengths": bytes per dimension

    def shape(self, address: int) -> tuple[int, ...] | None:
        """Return the shape in the dataset header at ``address``, or None to let HDF5 answer."""
        data = self.pread(address, READ_SIZE)
        if len(data) < HEADER.size:
            return None
        version, _, _, size = HEADER.unpack_from(data)
        if version != 1:
            return None
        end = min(HEADER.size + size, len(data))
        at = HEADER.size
        while at + MESSAGE.size <= end:
            kind, length, flags = MESSAGE.unpack_from(data, at)
            at += MESSAGE.size
            if kind == DATASPACE:
                return None if flags & SHARED else self._dims(data[at:min(at + length, end)])
            at += length
        return None

    def _dims(self, message: bytes) -> tuple[int, ...] | None:
        """Return the current dimensions of a version 1 dataspace message (version, rank, ...)."""
        if len(message) < DATASPACE_PREFIX or message[0] != 1:
            return None  # version 2 (a null dataspace among version 1 headers): HDF5 answers
        rank, width = message[1], self.lengths
        if rank > MAX_RANK or DATASPACE_PREFIX + rank * width > len(message):
            return None
        if width in WIDTHS:
            return struct.unpack_from(f"<{rank}{WIDTHS[width]}", message, DATASPACE_PREFIX)
        return tuple(int.from_bytes(message[at:at + width], "little")
                     for at in range(DATASPACE_PREFIX, DATASPACE_PREFIX + rank * width, width))


def header_reader(source: str | IO[bytes], handle: Any) -> HeaderReader | None:
    """Return a reader of ``handle``'s object headers, or None when the bytes are out of reach."""
    create = handle.id.get_create_plist()
    if create.get_userblock() != 0:  # addresses would count from the superblock: keep it simple
        return None
    return HeaderReader(pread=_pread(source, handle), lengths=create.get_sizes()[1])


def _pread(source: str | IO[bytes], handle: Any) -> Pread:
    """Return positional reads of the bytes HDF5 reads: its own descriptor, or its file object."""
    if isinstance(source, str):
        descriptor = handle.id.get_vfd_handle()  # the sec2 driver's file: no second open
        return lambda offset, size: os.pread(descriptor, size, offset)

    def read(offset: int, size: int) -> bytes:
        """Read as h5py's file-object driver does (it seeks before each read too)."""
        source.seek(offset)
        return source.read(size)

    # A header was just read by HDF5 for the visit: it is still in open_member's buffer.
    return read
