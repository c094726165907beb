"""Dataset shapes read from HDF5 object headers agree with HDF5's own, on every committed file."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from h5py import h5o

from graphcheck.findings import LoadError
from graphcheck.loaders.h5_header import HeaderReader
from graphcheck.loaders.h5_weights import HEADERS, Tree, open_h5, read_tree
from graphcheck.loaders.zip_member import open_member

FIXTURES = Path(__file__).parents[2] / "fixtures"
WEIGHTS = "model.weights.h5"
FILES = sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".keras", ".h5") and p.is_file())


@contextmanager
def _opened(path: Path) -> Iterator[Any]:
    """Open a fixture's HDF5 data as graphcheck does (a .keras member in place), or yield None."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            if WEIGHTS not in archive.namelist():
                yield None
                return
            with open_member(path, archive, WEIGHTS, 1 << 30, metadata=True) as member, \
                    open_h5(member, WEIGHTS) as h5:
                yield h5
    elif h5py.is_hdf5(path) and _opens(path):
        with open_h5(str(path), path.name) as h5:
            yield h5
    else:
        yield None


def _opens(path: Path) -> bool:
    """Return True when HDF5 opens the file (hostile/truncated.h5 it refuses)."""
    try:
        h5py.File(path, "r").close()
    except OSError:
        return False
    return True


def _datasets(h5: Any) -> list[Any]:
    """Return every dataset of the file, found by h5py's high-level visit (none in a corrupt file)."""
    found: list[Any] = []
    try:
        h5.visititems(lambda _, item: found.append(item) if isinstance(item, h5py.Dataset) else None)
    except (OSError, RuntimeError, KeyError):
        return []  # hostile/h5_object_past_end.h5: HDF5 cannot list it either
    return found


def _reader(h5: Any) -> HeaderReader | None:
    """Return the header reader open_h5 registered for this file (None when its root is corrupt)."""
    return next(iter(HEADERS.values())) if len(HEADERS) == 1 else None


def _holding(path: Path, datasets: bool) -> bool:
    """Return True when the file has HDF5 data (and, with ``datasets``, datasets HDF5 can list)."""
    with _opened(path) as h5:
        return h5 is not None and (not datasets or bool(_datasets(h5)))


# Parametrized over the files each test can say something about (config-only archives and the
# files HDF5 cannot list are left out, rather than skipped).
HDF5_FILES = [p for p in FILES if _holding(p, datasets=False)]
LISTED = [p for p in HDF5_FILES if _holding(p, datasets=True)]


def test_fixtures_cover_both_ways_in() -> None:
    """The files below include .keras members read in place and .h5 files read by path."""
    assert any(p.suffix == ".keras" for p in FILES) and any(p.suffix == ".h5" for p in FILES)


@pytest.mark.parametrize("path", HDF5_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_header_shapes_are_hdf5_shapes(path: Path) -> None:
    """Each dataset's header gives HDF5's shape, or nothing (then HDF5 is asked), never another."""
    with _opened(path) as h5:
        assert h5 is not None
        reader = _reader(h5)
        for dataset in _datasets(h5):
            assert reader is not None
            got = reader.shape(h5o.get_info(dataset.id).addr)
            assert got is None or got == dataset.shape, dataset.name


def test_committed_keras_weights_are_read_from_headers() -> None:
    """Keras's own files are the simple layout: every dataset's shape comes from its header."""
    read = 0
    for path in FILES:
        with _opened(path) as h5:
            if h5 is None:
                continue
            reader = _reader(h5)
            datasets = _datasets(h5)
            assert reader is not None or not datasets, path
            shapes = [reader.shape(h5o.get_info(d.id).addr) for d in datasets if reader]
            assert None not in shapes, path
            read += len(shapes)
    assert read > 500


@pytest.mark.parametrize("path", LISTED, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_read_tree_is_the_same_without_headers(path: Path) -> None:
    """Every group's tree is the same when each dataset is opened by HDF5 instead."""
    with _opened(path) as h5:
        assert h5 is not None
        key = h5.id.fileno[0]
        for name in h5:
            if isinstance(h5.get(name, getlink=True), h5py.HardLink) and isinstance(h5[name], h5py.Group):
                with_headers = read_tree(h5[name])
                reader = HEADERS.pop(key)
                try:
                    assert read_tree(h5[name]) == with_headers, name
                finally:
                    HEADERS[key] = reader


def _expected(group: Any) -> Tree:
    """Return the tree h5py's high-level API finds below ``group``."""
    tree: Tree = {}
    for name, item in group.items():
        tree[name] = _expected(item) if isinstance(item, h5py.Group) else item.shape
    return tree


def _write_odd(path: Path, libver: str) -> None:
    """Write datasets in the layouts HDF5 may use: scalar, resizable, attribute-heavy, big rank."""
    with h5py.File(path, "w", libver=libver) as h5:
        group = h5.create_group("layers/dense/vars")
        group["0"] = np.float32(1.0)
        group.create_dataset("1", shape=(3, 4), maxshape=(None, 4), chunks=True, dtype="f4")
        group.create_dataset("2", shape=(2,) * 12, dtype="u1")
        group.create_dataset("3", shape=(5, 0, 7), dtype="f4")
        for index in range(40):  # attributes enough to need a continuation block
            group["1"].attrs[f"note_{index}"] = "x" * 100
            group["3"].attrs[f"note_{index}"] = "x" * 100


@pytest.mark.parametrize("libver", ["earliest", "latest"])
def test_odd_layouts_read_as_hdf5_reads_them(tmp_path: Path, libver: str) -> None:
    """Scalars, max dims, rank 12, zero-length axes, version 2 headers: the same tree as h5py's."""
    path = tmp_path / "odd.h5"
    _write_odd(path, libver)
    with open_h5(str(path), "odd.h5") as h5:
        reader = _reader(h5)
        assert reader is not None
        from_headers = [reader.shape(h5o.get_info(d.id).addr) for d in _datasets(h5)]
        assert read_tree(h5["layers"]) == _expected(h5["layers"])
    if libver == "latest":  # version 2 headers are left to HDF5
        assert from_headers == [None] * 4
    else:
        assert from_headers == [(), (3, 4), (2,) * 12, (5, 0, 7)]


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_keras_member_reads_its_own_headers(tmp_path: Path, compression: int) -> None:
    """Headers are read from the member (in place, or inflated), never from the archive around it."""
    data = io.BytesIO()
    with h5py.File(data, "w") as h5:
        h5.create_dataset("layers/dense/vars/0", shape=(4, 2), dtype="f4")
    archive_path = tmp_path / "model.keras"
    with zipfile.ZipFile(archive_path, "w", compression=compression) as archive:
        archive.writestr("config.json", "{}")
        archive.writestr(WEIGHTS, data.getvalue())
    with zipfile.ZipFile(archive_path) as archive, \
            open_member(archive_path, archive, WEIGHTS, 1 << 20) as member, \
            open_h5(member, WEIGHTS) as h5:
        reader = _reader(h5)
        assert reader is not None
        size = len(data.getvalue())
        assert reader.pread(0, 8) == data.getvalue()[:8]
        assert reader.pread(size - 4, 100) == data.getvalue()[-4:]
        assert reader.pread(size + 10, 8) == b""
        assert reader.shape(h5o.get_info(h5["layers/dense/vars/0"].id).addr) == (4, 2)
        assert read_tree(h5["layers"]) == {"dense": {"vars": {"0": (4, 2)}}}


def test_the_metadata_reader_reads_what_the_plain_one_reads() -> None:
    """Without readinto (so that h5py calls read), the member gives the same bytes and tree."""
    path = FIXTURES / "keras" / "question.keras"
    with zipfile.ZipFile(path) as archive:
        trees = []
        for metadata in (False, True):
            with open_member(path, archive, WEIGHTS, 1 << 30, metadata=metadata) as member:
                assert hasattr(member, "readinto") is not metadata
                member.seek(0, io.SEEK_END)
                size = member.tell()
                chunks = []
                for offset in (0, 100, size // 2, size - 7, size + 5):
                    member.seek(offset)
                    chunks.append(member.read(300))
                with open_h5(member, WEIGHTS) as h5:
                    trees.append((chunks, read_tree(h5["layers"])))
    assert trees[0] == trees[1]
    assert trees[1][1]  # the tree is not empty: there was something to compare


def test_a_null_dataspace_is_a_finding(tmp_path: Path) -> None:
    """h5py.Empty has no shape: a clear refusal, where it used to be an internal TypeError."""
    path = tmp_path / "empty.h5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("layers/dense/vars/0", data=h5py.Empty("f4"))
    with open_h5(str(path), "empty.h5") as h5, pytest.raises(LoadError, match="null dataspace"):
        read_tree(h5["layers"])
