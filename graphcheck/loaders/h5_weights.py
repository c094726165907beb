"""Weight shapes from HDF5 groups: read dataset shapes only, never their values."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, Literal

import h5py

from graphcheck.findings import LoadError
from graphcheck.graph import StoredWeight, snake_case


@contextmanager
def open_h5(source: str | IO[bytes], where: str) -> Iterator[Any]:
    """Open an HDF5 file read-only, turning h5py's errors into a LoadError."""
    try:
        handle = h5py.File(source, "r")
    except (OSError, ValueError) as error:
        raise LoadError(f"{where} is not a readable HDF5 file: {error}") from None
    with handle:
        yield handle


def dataset_shapes(group: Any, prefix: str = "") -> list[StoredWeight]:
    """Return every dataset below ``group`` with its path relative to it, in sorted order."""
    found: list[StoredWeight] = []
    if group is None:
        return found
    for key in sorted(group.keys(), key=_natural):
        item = group.get(key)
        if isinstance(item, h5py.Dataset):
            found.append(StoredWeight(key=prefix + key, shape=tuple(int(d) for d in item.shape)))
        elif isinstance(item, h5py.Group):
            found += dataset_shapes(item, f"{prefix}{key}/")
    return found


def _natural(key: str) -> tuple[int, str]:
    """Sort "vars/10" after "vars/2"."""
    return (int(key), "") if key.isdigit() else (1 << 30, key)


class GroupWeights:
    """Keras 3 ``model.weights.h5``: groups named by snake_case class, in model.layers order."""

    match: Literal["path", "order"] = "path"

    def __init__(self, group: Any) -> None:
        """Wrap the ``layers`` group of one (possibly nested) model."""
        self.group = group
        self.used: dict[str, int] = {}

    def _next(self, class_name: str) -> Any:
        """Return the group of the next layer of this class, counting like Keras does."""
        base = snake_case(class_name)
        count = self.used.get(base)
        self.used[base] = 0 if count is None else count + 1
        key = base if count is None else f"{base}_{count + 1}"
        return None if self.group is None else self.group.get(key)

    def container(self, name: str, class_name: str) -> GroupWeights:
        """Return the source for a nested model's own ``layers`` group."""
        group = self._next(class_name)
        return GroupWeights(None if group is None else group.get("layers"))

    def weights(self, name: str, class_name: str) -> tuple[StoredWeight, ...] | None:
        """Return the datasets of the next layer of this class."""
        return tuple(dataset_shapes(self._next(class_name)))


class LegacyWeights:
    """Legacy ``.h5``: ``/model_weights/<layer name>`` with a ``weight_names`` attribute."""

    match: Literal["path", "order"] = "order"

    def __init__(self, group: Any) -> None:
        """Wrap ``/model_weights`` (or a nested model's list of weights)."""
        self.group = group

    def _stored(self, name: str) -> list[StoredWeight]:
        """Return the weights recorded for layer ``name`` in weight_names order."""
        layer_group = self.group.get(name) if self.group is not None else None
        if layer_group is None:
            return []
        names = [_text(n) for n in layer_group.attrs.get("weight_names", [])]
        found = []
        for weight_name in names:
            item = layer_group.get(weight_name)
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


def _text(value: object) -> str:
    """Decode an HDF5 string attribute item."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
