"""Random access to one zip member: a stored member is read in place, a compressed one inflated once.

h5py reads ``model.weights.h5`` by seeking all over it. ``zipfile``'s member stream is
sequential: every backward seek re-inflates and re-checks the member from its start, which
made a 10,000-layer ``.keras`` pass the read deadline. Keras stores the member uncompressed,
so its bytes sit at a fixed offset in the archive and can be read there directly.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

from graphcheck.findings import LoadError

LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra field length
LOCAL_SIGNATURE = b"PK\x03\x04"
ENCRYPTED = 0x1
BUFFER = 64 * 1024


class StoredMember(io.RawIOBase):
    """A read-only, seekable window onto ``size`` bytes at ``start`` in an open file."""

    def __init__(self, file: IO[bytes], start: int, size: int) -> None:
        """Read ``file`` from ``start`` for ``size`` bytes; the caller keeps the file open."""
        super().__init__()
        self.file, self.start, self.size, self.pos = file, start, size, 0

    def readable(self) -> bool:
        """Return True: the window is readable."""
        return True

    def seekable(self) -> bool:
        """Return True: any position is reached directly, without reading what precedes it."""
        return True

    def tell(self) -> int:
        """Return the position inside the member."""
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move inside the member (positions past its end read as end of file)."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self.pos = base + offset
        return self.pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Read into ``buffer`` from the current position, never past the member's end."""
        view = memoryview(buffer).cast("B")
        count = max(0, min(len(view), self.size - self.pos))
        if count == 0:
            return 0
        self.file.seek(self.start + self.pos)
        got = self.file.readinto(view[:count])  # type: ignore[attr-defined]
        self.pos += got or 0
        return got or 0


class MetadataReader(io.BufferedReader):
    """A buffered member for h5py when only HDF5 metadata is read: it offers no ``readinto``.

    h5py's file-object driver calls ``readinto`` when the file has one, building a Cython
    array and a memoryview for each of HDF5's reads; without it, it calls ``read`` and copies
    the bytes. A 10,000-layer model's shapes take 112,000 small reads: the HDF5 walk took a
    quarter less time. A short read (only a truncated member has one) then fails HDF5's read
    instead of leaving part of its buffer unfilled. Values are read through ``readinto``: a
    large read lands in place, not in a bytes object first.
    """

    @property
    def readinto(self) -> Any:
        """Be absent, so that ``hasattr(member, "readinto")`` is False."""
        raise AttributeError("readinto")


@contextmanager
def open_member(path: Path, archive: zipfile.ZipFile, name: str, limit: int, *,
                metadata: bool = False) -> Iterator[IO[bytes]]:
    """Yield member ``name`` as a seekable file: in place when stored, else inflated within ``limit``.

    ``metadata``: the reader reads HDF5 metadata only (shapes), small reads (MetadataReader).
    """
    info = archive.getinfo(name)
    if info.flag_bits & ENCRYPTED:
        raise LoadError(f"{name} in the archive is encrypted")
    if info.compress_type != zipfile.ZIP_STORED:
        yield io.BytesIO(_inflate(archive, info, limit))
        return
    with path.open("rb", buffering=0) as file:
        start = _data_offset(file, info)
        # HDF5 metadata is many small reads close together: a buffer turns them into few reads.
        buffered = MetadataReader if metadata else io.BufferedReader
        yield cast(IO[bytes], buffered(StoredMember(file, start, info.file_size), BUFFER))


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Inflate a compressed member once, refusing one that inflates past ``limit`` (zip bombs)."""
    if info.file_size > limit:
        raise LoadError(f"{info.filename} is compressed and inflates to {info.file_size} bytes, over "
                        f"the {limit}-byte limit (max_member_bytes); Keras stores it uncompressed")
    with archive.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise LoadError(f"{info.filename} inflates past the {limit}-byte limit (max_member_bytes)")
    return data


def _data_offset(file: IO[bytes], info: zipfile.ZipInfo) -> int:
    """Return where a stored member's bytes start, after checking its local header and extent."""
    file.seek(info.header_offset)
    header = file.read(LOCAL_HEADER.size)
    if len(header) < LOCAL_HEADER.size or header[:4] != LOCAL_SIGNATURE:
        raise LoadError(f"{info.filename}: the archive's directory points at no local file header "
                        f"(offset {info.header_offset})")
    _, name_length, extra_length = LOCAL_HEADER.unpack(header)
    start: int = info.header_offset + LOCAL_HEADER.size + name_length + extra_length
    end = os.fstat(file.fileno()).st_size
    if start + info.file_size > end or info.compress_size != info.file_size:
        raise LoadError(f"{info.filename} is truncated: it should hold {info.file_size} bytes "
                        f"from offset {start}, the archive ends at {end}")
    return start
