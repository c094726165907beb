"""Keras 3 ``.keras`` files: a zip (or directory) of config.json and model.weights.h5."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from graphcheck.findings import LoadError
from graphcheck.graph import Model
from graphcheck.loaders import sniff_bytes
from graphcheck.loaders.h5_weights import GroupWeights, open_h5
from graphcheck.loaders.keras_config import NoWeights, WeightSource, build_model, obj

CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
MAX_CONFIG_BYTES = 64 * 1024 * 1024


class KerasZipLoader:
    """Loads ``.keras`` archives and their unzipped directory form."""

    name = "keras"

    def sniff(self, path: Path, head: bytes) -> bool:
        """Accept a zip archive, or a directory holding config.json and weights."""
        if path.is_dir():
            return (path / CONFIG).is_file() and (path / WEIGHTS).exists()
        return sniff_bytes(head).kind == "zip" and path.suffix != ".onnx"

    def load(self, path: Path) -> Model:
        """Read config.json and the weight shapes; nothing is deserialised by Keras."""
        if path.is_dir():
            return self._load_dir(path)
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as error:
            raise LoadError(f"not a readable zip archive: {error}") from None
        with archive:
            names = set(archive.namelist())
            if CONFIG not in names:
                raise LoadError(f"the archive has no {CONFIG}: it is not a Keras 3 model "
                                f"(members: {', '.join(sorted(names)[:5]) or 'none'})")
            config = _parse(_read_member(archive, CONFIG), CONFIG)
            metadata = _metadata(archive, names)
            if WEIGHTS not in names:
                return _model(path, config, NoWeights(), metadata, has_weights=False)
            with archive.open(WEIGHTS) as member, open_h5(member, WEIGHTS) as h5:
                return _model(path, config, GroupWeights(h5.get("layers")), metadata)

    def _load_dir(self, path: Path) -> Model:
        """Read the directory written by ``save(..., zipped=False)``."""
        config = _parse((path / CONFIG).read_bytes(), CONFIG)
        with (path / WEIGHTS).open("rb") as handle, open_h5(handle, WEIGHTS) as h5:
            return _model(path, config, GroupWeights(h5.get("layers")), {})


def _read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """Read a member, refusing one that claims to inflate past the limit (zip bombs)."""
    info = archive.getinfo(name)
    if info.file_size > MAX_CONFIG_BYTES:
        raise LoadError(f"{name} inflates to {info.file_size} bytes, over the "
                        f"{MAX_CONFIG_BYTES}-byte limit")
    with archive.open(name) as member:
        data = member.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise LoadError(f"{name} inflates past the {MAX_CONFIG_BYTES}-byte limit")
    return data


def _parse(data: bytes, where: str) -> dict[str, Any]:
    """Parse a JSON document into an object, with the position of any syntax error."""
    try:
        value = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise LoadError(f"{where} is not UTF-8 text: {error.reason} at byte {error.start}") from None
    except json.JSONDecodeError as error:
        raise LoadError(f"{where} is not valid JSON: {error.msg} at line {error.lineno} "
                        f"column {error.colno}") from None
    except RecursionError:
        raise LoadError(f"{where} is nested too deeply to read") from None
    return dict(obj(value, where))


def _metadata(archive: zipfile.ZipFile, names: set[str]) -> dict[str, Any]:
    """Return metadata.json (Keras version, save date) when present and readable."""
    if "metadata.json" not in names:
        return {}
    try:
        return _parse(_read_member(archive, "metadata.json"), "metadata.json")
    except LoadError:
        return {}


def _model(path: Path, config: dict[str, Any], source: WeightSource, metadata: dict[str, Any],
           has_weights: bool = True) -> Model:
    """Build the Model from a parsed config.json."""
    root = build_model(config, source, CONFIG)
    return Model(path=str(path), format="keras", root=root, metadata=metadata,
                 has_weights=has_weights)


def parse_json(data: bytes, where: str) -> dict[str, Any]:
    """Parse a JSON model document (shared with the architecture-JSON loader)."""
    return _parse(data, where)


LOADER = KerasZipLoader()
