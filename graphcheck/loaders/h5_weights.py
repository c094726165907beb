"""Weight shapes from HDF5 groups: read dataset shapes only, never their values."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, Literal

import h5py

from graphcheck.findings import LoadError
from graphcheck.graph import StoredWeight, snake_case
from graphcheck.limits import current as current_limits

# What h5py raises on a corrupt file after opening it (broken B-trees, bad messages).
H5_ERRORS = (OSError, RuntimeError, ValueError)
MAX_DEPTH = 32


@contextmanager
def open_h5(source: str | IO[bytes], where: str) -> Iterator[Any]:
    """Open an HDF5 file read-only, turning h5py's errors (also while reading) into a LoadError."""
    try:
        handle = h5py.File(source, "r")
    except H5_ERRORS as error:
        raise LoadError(f"{where} is not a readable HDF5 file: {error}") from None
    try:
        with handle:
            yield handle
    except (*H5_ERRORS, KeyError) as error:
        # h5py reports a corrupt object header as KeyError("Unable to ..."); other KeyErrors are bugs.
        if isinstance(error, KeyError) and "Unable to" not in str(error):
            raise
        raise LoadError(f"{where} is corrupt: {type(error).__name__}: {error}") from None


def child(group: Any, key: str | bytes) -> Any:
    """Return ``group[key]`` through hard links only; soft and external links are never followed."""
    # An external link names another file (perhaps /etc/passwd); a soft link can loop.
    node = group
    parts = key.split(b"/") if isinstance(key, bytes) else key.split("/")
    for part in (p for p in parts if p):
        if not isinstance(node, h5py.Group) or not isinstance(
                node.get(part, getlink=True), h5py.HardLink):
            return None
        node = node.get(part)
    return node


def dataset_shapes(group: Any, prefix: str = "") -> list[StoredWeight]:
    """Return every dataset below ``group`` with its path relative to it, in sorted order."""
    found: list[StoredWeight] = []
    if group is not None:
        _walk(group, prefix, found, set(), 0)
    return found


def _walk(group: Any, prefix: str, found: list[StoredWeight], seen: set[Any], depth: int) -> None:
    """Collect dataset shapes depth-first, refusing link cycles and more objects than the limit."""
    limit = current_limits().max_h5_objects
    if group.id in seen or depth > MAX_DEPTH:
        raise LoadError(f"the HDF5 group {group.name} links back into itself or nests deeper "
                        f"than {MAX_DEPTH} levels")
    seen.add(group.id)
    if len(group) + len(seen) + len(found) > limit:
        raise LoadError(f"the HDF5 weights hold over {limit} objects (max_h5_objects)")
    for raw in sorted(group.keys(), key=_natural):
        item = child(group, raw)
        key = _shown(raw)
        if isinstance(item, h5py.Dataset):
            found.append(StoredWeight(key=prefix + key, shape=tuple(int(d) for d in item.shape)))
        elif isinstance(item, h5py.Group):
            _walk(item, f"{prefix}{key}/", found, seen, depth + 1)


def _shown(name: str | bytes) -> str:
    """Return a link name as text: h5py returns one that is not UTF-8 as bytes; escape those."""
    return name.decode("utf-8", "backslashreplace") if isinstance(name, bytes) else name


def _natural(name: str | bytes) -> tuple[int, str]:
    """Sort "vars/10" after "vars/2" (and names h5py returns as bytes among the rest)."""
    key = _shown(name)
    return (int(key), "") if key.isdigit() else (1 << 30, key)


class GroupWeights:
    """Keras 3 ``model.weights.h5``: groups named by snake_case class, in model.layers order."""

    match: Literal["path", "order"] = "path"

    def __init__(self, group: Any) -> None:
        """Wrap the ``layers`` group of one (possibly nested) model."""
        self.group = group
        self.used: dict[str, int] = {}

    def next_key(self, class_name: str) -> str:
        """Return the group name of the next layer of this class, counting like Keras does."""
        base = snake_case(class_name)
        count = self.used.get(base)
        self.used[base] = 0 if count is None else count + 1
        return base if count is None else f"{base}_{count + 1}"

    def _next(self, class_name: str) -> Any:
        """Return the group of the next layer of this class."""
        key = self.next_key(class_name)
        return None if self.group is None else child(self.group, key)

    def container(self, name: str, class_name: str) -> GroupWeights:
        """Return the source for a nested model's own ``layers`` group."""
        group = self._next(class_name)
        return GroupWeights(None if group is None else child(group, "layers"))

    def weights(self, name: str, class_name: str) -> tuple[StoredWeight, ...] | None:
        """Return the datasets of the next layer of this class."""
        return tuple(_public(w) for w in dataset_shapes(self._next(class_name)))


def _public(weight: StoredWeight) -> StoredWeight:
    """Name sublayer groups as Keras 3 does: tf_keras writes ``_query_dense`` for ``query_dense``."""
    key = "/".join(part.lstrip("_") or part for part in weight.key.split("/"))
    return StoredWeight(key=key, shape=weight.shape)


class LegacyWeights:
    """Legacy ``.h5``: ``/model_weights/<layer name>`` with a ``weight_names`` attribute."""

    match: Literal["path", "order"] = "order"

    def __init__(self, group: Any) -> None:
        """Wrap ``/model_weights`` (or a nested model's list of weights)."""
        self.group = group

    def _stored(self, name: str) -> list[StoredWeight]:
        """Return the weights recorded for layer ``name`` in weight_names order."""
        layer_group = child(self.group, name) if self.group is not None else None
        if layer_group is None:
            return []
        names = [_text(n) for n in _names(layer_group.attrs.get("weight_names", []))]
        found = []
        for weight_name in names:
            item = child(layer_group, weight_name)
            shape = tuple(int(d) for d in item.shape) if isinstance(item, h5py.Dataset) else ()
            found.append(StoredWeight(key=weight_name, shape=shape))
        return found

    def container(self, name: str, class_name: str) -> NestedLegacyWeights:
        """Return the weights of a nested model, which legacy files store under its own name."""
        return NestedLegacyWeights(self._stored(name))

    def weights(self, name: str, class_name: str) -> tuple[StoredWeight, ...] | None:
        """Return the weights stored under the layer's name."""
        return tuple(self._stored(name))


class NestedLegacyWeights:
    """The weights of a nested model in a legacy file, told apart by layer name in their path."""

    match: Literal["path", "order"] = "order"

    def __init__(self, stored: list[StoredWeight]) -> None:
        """Keep the nested model's flat list of weights."""
        self.stored = stored

    def container(self, name: str, class_name: str) -> NestedLegacyWeights:
        """Narrow down to the weights whose path names the inner model."""
        return NestedLegacyWeights(self._owned(name))

    def weights(self, name: str, class_name: str) -> tuple[StoredWeight, ...] | None:
        """Return the weights whose path has ``name`` as a component."""
        return tuple(self._owned(name))

    def _owned(self, name: str) -> list[StoredWeight]:
        """Select the weights belonging to layer ``name``."""
        return [w for w in self.stored if name in w.key.split(":")[0].split("/")]


def _names(value: Any) -> list[Any]:
    """Return a string-list attribute as a list, within the object limit."""
    items = list(value.flat) if hasattr(value, "flat") else [value]
    limit = current_limits().max_h5_objects
    if len(items) > limit:
        raise LoadError(f"weight_names lists {len(items)} weights, over {limit} (max_h5_objects)")
    return items


def _text(value: object) -> str:
    """Decode an HDF5 string attribute item."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
