"""Keras 3 ``.keras`` files: a zip (or directory) of config.json and model.weights.h5."""

from __future__ import annotations

import json
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from graphcheck.findings import LoadError, Problem
from graphcheck.graph import Model
from graphcheck.limits import current as current_limits
from graphcheck.loaders import sniff_bytes
from graphcheck.loaders.h5_weights import open_h5
from graphcheck.loaders.isolation import isolated_load
from graphcheck.loaders.keras_config import NoWeights, WeightSource, build_model
from graphcheck.loaders.keras_nodes import obj
from graphcheck.loaders.keras_weight_paths import weight_source
from graphcheck.loaders.zip_member import open_member
from graphcheck.rule_names import RuleName

CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
KNOWN_MEMBERS = frozenset({CONFIG, WEIGHTS, "metadata.json"})
# What a corrupt member can raise while it is opened or inflated.
MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
                 NotImplementedError, ValueError)
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".pth")


class KerasZipLoader:
    """Loads ``.keras`` archives and their unzipped directory form."""

    name = "keras"
    priority = 400
    suffixes = frozenset({".keras"})

    def finds(self, path: Path, head: bytes | None) -> bool | None:
        """Check ``.keras`` files, and zips whose directory lists config.json (not wheels, .npz).

        Only the end record and the central directory are read, and only up to a bound: a huge
        archive in a repository costs the walk a few reads, never its inflation or a listing.
        """
        if head is None:
            return True if path.suffix.lower() in self.suffixes else None
        if sniff_bytes(head).kind != "zip":
            return None
        from graphcheck.zip_sniff import lists_member

        return lists_member(path, CONFIG)

    def sniff(self, path: Path, head: bytes) -> bool:
        """Accept a zip archive, or a directory holding config.json and weights."""
        if path.is_dir():
            return (path / CONFIG).is_file() and os.path.lexists(path / WEIGHTS)
        return sniff_bytes(head).kind == "zip" and path.suffix != ".onnx"

    @isolated_load
    def load(self, path: Path) -> Model:
        """Read config.json and the weight shapes; nothing is deserialised by Keras."""
        if path.is_dir():
            return self._load_dir(path)
        _check_member_count(path)
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
            raise LoadError(f"not a readable zip archive: {error}") from None
        with archive:
            names = set(archive.namelist())
            if CONFIG not in names:
                raise LoadError(_not_keras_message(names))
            config = parse_json(_read_member(archive, CONFIG), CONFIG)
            metadata = _metadata(archive, names)
            problems = tuple(_embedded_pickles(archive, names))
            if WEIGHTS not in names:
                return _model(path, config, NoWeights(), metadata, problems, has_weights=False)
            with _weights_member(path, archive) as member, open_h5(member, WEIGHTS) as h5:
                source, found = weight_source(h5)
                return _model(path, config, source, metadata, problems + found)

    def _load_dir(self, path: Path) -> Model:
        """Read the directory written by ``save(..., zipped=False)``."""
        config = parse_json(read_json_file(path / CONFIG), CONFIG)
        _check_regular(path / WEIGHTS)
        with open_h5(str(path / WEIGHTS), WEIGHTS) as h5:
            source, found = weight_source(h5)
            return _model(path, config, source, {}, found)


def _check_regular(path: Path) -> None:
    """Refuse a FIFO, a device or a link out in an unzipped model folder before opening it."""
    from graphcheck.safe_io import check_inside, check_regular

    try:
        check_regular(path.name, os.stat(path))
        check_inside(path, path.parent)
    except OSError as error:
        raise LoadError(str(error.strerror or error)) from None


def _check_member_count(path: Path) -> None:
    """Refuse an archive whose directory holds more members than the limit, before zipfile reads it.

    The entries are counted in the directory itself: the end record's member count can lie.
    """
    from graphcheck.zip_sniff import count_members

    limits = current_limits()
    try:
        count, size = count_members(path, limits.max_zip_members)
    except (OSError, struct.error, ValueError):
        return  # zipfile reports the unreadable archive itself
    if count > limits.max_zip_members:
        raise LoadError(f"the archive lists more than {limits.max_zip_members} members, over the "
                        "limit (max_zip_members)")
    if size > limits.max_member_bytes:  # zipfile reads the whole directory into memory at once
        raise LoadError(f"the archive's central directory takes {size} bytes, over the "
                        f"{limits.max_member_bytes}-byte limit (max_member_bytes)")


def _not_keras_message(names: set[str]) -> str:
    """Say what an archive without config.json probably is."""
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        return ("the archive is a PyTorch checkpoint (it holds data.pkl), not a Keras model; "
                "graphcheck never unpickles it")
    if any(n.endswith(".npy") for n in names):
        return "the archive is a NumPy .npz file, not a Keras model"
    listed = ", ".join(sorted(names)[:5]) or "none"
    return f"the archive has no {CONFIG}: it is not a Keras 3 model (members: {listed})"


def _read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """Read a member, refusing one that inflates past the limit (zip bombs)."""
    limits = current_limits()
    # The member is JSON: the smaller of the two limits applies, and the message names it.
    limit, key = min((limits.max_member_bytes, "max_member_bytes"),
                     (limits.max_json_bytes, "max_json_bytes"))
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise LoadError(f"{name} inflates to {info.file_size} bytes, over the {limit}-byte limit "
                        f"({key})")
    try:
        with archive.open(name) as member:
            data = member.read(limit + 1)
    except MEMBER_ERRORS as error:
        raise LoadError(f"{name} in the archive cannot be read: {error}") from None
    if len(data) > limit:
        raise LoadError(f"{name} inflates past the {limit}-byte limit ({key})")
    return data


@contextmanager
def _weights_member(path: Path, archive: zipfile.ZipFile) -> Iterator[IO[bytes]]:
    """Open the weights member for h5py's random reads (in place when stored, as Keras writes it)."""
    try:
        with open_member(path, archive, WEIGHTS, current_limits().max_member_bytes,
                         metadata=True) as member:
            yield member
    except MEMBER_ERRORS as error:
        raise LoadError(f"{WEIGHTS} in the archive cannot be read: {error}") from None


def read_json_file(path: Path) -> bytes:
    """Read a JSON file of a directory model: a regular file only, within the size limit."""
    from graphcheck.safe_io import read_bounded

    limit = current_limits().max_json_bytes
    try:
        return read_bounded(path, limit, root=path.parent)
    except OSError as error:
        raise LoadError(f"{path.name} cannot be read: {error.strerror or error} "
                        "(max_json_bytes bounds its size)") from None


def parse_json(data: bytes, where: str) -> dict[str, Any]:
    """Parse a JSON document into an object, with the position of any syntax error."""
    limit = current_limits().max_json_bytes
    if len(data) > limit:
        raise LoadError(f"{where} is {len(data)} bytes, over the {limit}-byte limit (max_json_bytes)")
    try:
        value = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise LoadError(f"{where} is not UTF-8 text: {error.reason} at byte {error.start}") from None
    except json.JSONDecodeError as error:
        raise LoadError(f"{where} is not valid JSON: {error.msg} at line {error.lineno} "
                        f"column {error.colno}") from None
    except RecursionError:
        raise LoadError(f"{where} is nested too deeply to read") from None
    except ValueError:  # an integer with more digits than Python converts (4,300)
        raise LoadError(f"{where} is not valid JSON for a model: it holds an integer thousands "
                        "of digits long, which no model config needs") from None
    _check_depth(value, where)
    return dict(obj(value, where))


def _check_depth(value: object, where: str) -> None:
    """Refuse JSON nested deeper than the limit, so recursive readers stay within the stack."""
    limit = current_limits().max_json_depth
    # One level at a time: only objects and lists are kept (scalars nest nothing), and no
    # depth is stored per item (a 10,000-layer config has hundreds of thousands of them).
    level: list[Any] = [value]
    depth = 1
    while level:
        nested: list[Any] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
            if depth > limit or (children and depth >= limit):  # its children would be over it
                raise LoadError(f"{where} is nested {limit}+ levels deep, over the limit "
                                "(max_json_depth)")
            nested += [v for v in children if isinstance(v, (dict, list))]
        level, depth = nested, depth + 1


def _metadata(archive: zipfile.ZipFile, names: set[str]) -> dict[str, Any]:
    """Return metadata.json (Keras version, save date) when present and readable."""
    if "metadata.json" not in names:
        return {}
    try:
        return parse_json(_read_member(archive, "metadata.json"), "metadata.json")
    except LoadError:
        return {}


def _embedded_pickles(archive: zipfile.ZipFile, names: set[str]) -> Iterator[Problem]:
    """Report members that are pickles: never loaded here, but code in them runs when unpickled."""
    for name in sorted(names - KNOWN_MEMBERS)[:current_limits().max_zip_members]:
        try:
            with archive.open(name) as member:
                head = member.read(8)
        except MEMBER_ERRORS:
            head = b""
        if sniff_bytes(head).kind == "pickle" or name.lower().endswith(PICKLE_SUFFIXES):
            yield Problem(rule=RuleName.UNSAFE_CODE, node=None,
                          message=f"archive member {name} is a Python pickle: graphcheck does not "
                                  "open it, but whatever unpickles it runs code from the file")


def _model(path: Path, config: dict[str, Any], source: WeightSource, metadata: dict[str, Any],
           problems: tuple[Problem, ...], has_weights: bool = True) -> Model:
    """Build the Model from a parsed config.json."""
    root = build_model(config, source, CONFIG)
    return Model(path=str(path), format="keras", root=root, metadata=metadata,
                 has_weights=has_weights, problems=problems)


LOADER = KerasZipLoader()
