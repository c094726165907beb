"""Weight shapes from HDF5 groups: read dataset shapes only, never their values.

h5py (and numpy with it) is imported on first use, not with this module: the loaders are all
imported to sniff a file, and an ONNX file needs neither.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import IO, Any, Literal

from graphcheck.findings import LoadError
from graphcheck.graph import StoredWeight, snake_case
from graphcheck.limits import current as current_limits
from graphcheck.loaders.h5_header import HeaderReader, header_reader

# What h5py raises on a corrupt file after opening it (broken B-trees, bad messages).
H5_ERRORS = (OSError, RuntimeError, ValueError)
MAX_DEPTH = 32
METADATA_CACHE_BYTES = 4 * 1024 * 1024
# The object-header reader of each file open_h5 has open, by HDF5's file number (the
# ``fileno`` of every object's info), so that read_tree finds it from any group of the file.
HEADERS: dict[int, HeaderReader | None] = {}


def import_h5py() -> None:
    """Import h5py (and numpy) now; a no-op once done."""
    import h5py  # noqa: F401


@contextmanager
def open_h5(source: str | IO[bytes], where: str) -> Iterator[Any]:
    """Open an HDF5 file read-only, turning h5py's errors (also while reading) into a LoadError."""
    import h5py

    try:
        handle = h5py.File(source, "r")
        _cap_metadata_cache(handle)
    except H5_ERRORS as error:
        raise LoadError(f"{where} is not a readable HDF5 file: {error}") from None
    fileno = None
    try:
        with handle:
            fileno = _register_headers(source, handle)
            yield handle
    except (*H5_ERRORS, KeyError) as error:
        # h5py reports a corrupt object header as KeyError("Unable to ..."); other KeyErrors are bugs.
        if isinstance(error, KeyError) and "Unable to" not in str(error):
            raise
        raise LoadError(f"{where} is corrupt: {type(error).__name__}: {error}") from None
    finally:
        if fileno is not None:
            HEADERS.pop(fileno, None)  # HDF5 gives a file opened twice one number


def _register_headers(source: str | IO[bytes], handle: Any) -> int | None:
    """Let read_tree find the header reader of ``handle``; return the key to forget it by."""
    try:
        fileno = int(handle.id.fileno[0])  # the root's header only, which any read starts with
        HEADERS[fileno] = header_reader(source, handle)
    except (*H5_ERRORS, KeyError):
        return None  # the reads that follow report what is wrong with the file, as before
    return fileno


def _cap_metadata_cache(handle: Any) -> None:
    """Keep HDF5's metadata cache small: each object header read stays cached otherwise.

    With the default (growing to 32 MiB, and more in practice) opening the 20,000 datasets of
    a 10,000-layer model held 120 MiB; headers are read once here, so a small cache costs nothing.
    """
    config = handle.id.get_mdc_config()
    config.set_initial_size = True
    config.initial_size = config.min_size = METADATA_CACHE_BYTES // 4
    config.max_size = METADATA_CACHE_BYTES
    handle.id.set_mdc_config(config)


def child(group: Any, key: str | bytes) -> Any:
    """Return ``group[key]`` through hard links only; soft and external links are never followed."""
    import h5py

    # An external link names another file (perhaps /etc/passwd); a soft link can loop.
    node = group
    parts = key.split(b"/") if isinstance(key, bytes) else key.split("/")
    for part in (p for p in parts if p):
        if not isinstance(node, h5py.Group) or not isinstance(
                node.get(part, getlink=True), h5py.HardLink):
            return None
        node = node.get(part)
    return node


# The datasets below one HDF5 group: a group holding datasets is a dict, a dataset its shape.
Tree = dict[str, "Tree | tuple[int, ...]"]


def read_tree(group: Any) -> Tree:
    """Read every dataset shape below ``group`` in one HDF5 visit, hard links only.

    One ``H5Ovisit`` costs microseconds per object; walking with h5py's high-level API
    (lookups, link checks, item access) cost about a millisecond per layer, so 10,000 layers
    took seconds. H5Ovisit never follows soft or external links and visits each object once.
    """
    from h5py import h5o

    info = h5o.get_info(group.id)
    if info.rc > 1:
        raise LoadError(_looping(group.name))
    walk = _TreeWalk(group, current_limits().max_h5_objects, HEADERS.get(info.fileno))
    h5o.visit(group.id, walk.visit, info=True)
    if walk.refused is not None:
        raise walk.refused
    return walk.tree


class _TreeWalk:
    """The callback of read_tree's visit: each dataset's shape is read as the visit reaches it.

    Read there, right after HDF5 read the header for the visit, the file is read once: opening
    every dataset after the visit by its full path looked each path up again and read each
    header a second time (twice the reads, half the time of a 10,000-layer model). The shape
    comes from the header itself (h5_header) when it has the usual layout, else from H5Dopen.
    """

    def __init__(self, group: Any, limit: int, headers: HeaderReader | None) -> None:
        """Visit below ``group``, refusing more than ``limit`` objects; ``headers`` reads shapes."""
        from h5py import h5d, h5o

        self.group, self.gid, self.limit, self.count = group, group.id, limit, 0
        self.headers = headers
        self.open_dataset, self.dataset, self.group_type = h5d.open, h5o.TYPE_DATASET, h5o.TYPE_GROUP
        self.tree: Tree = {}
        # The first refusal (a loop, a corrupt dataset), raised once the visit has counted
        # every object: an object count over the limit is the finding that wins, as before.
        self.refused: Exception | None = None

    def visit(self, name: bytes, info: Any) -> None:
        """Record one object; a dataset's shape goes into the tree at its path."""
        self.count += 1
        if self.count > self.limit:
            raise LoadError(f"the HDF5 weights hold over {self.limit} objects (max_h5_objects)")
        if self.refused is not None:
            return
        *parents, last = name.decode("utf-8", "backslashreplace").split("/")
        # A group reached by a second hard link may hold a link back to itself.
        if len(parents) >= MAX_DEPTH or (info.type == self.group_type and info.rc > 1):
            self.refused = LoadError(_looping(f"{self.group.name}/{'/'.join([*parents, last])}"))
        elif info.type == self.dataset:
            try:
                subtree(self.tree, parents)[last] = self._shape(name, info.addr)
            except (*H5_ERRORS, KeyError, LoadError) as error:  # open_h5 says the file is corrupt
                self.refused = error

    def _shape(self, name: bytes, address: int) -> tuple[int, ...]:
        """Return a dataset's shape from its header, or from HDF5 when the header is unusual."""
        shape = None if self.headers is None else self.headers.shape(address)
        if shape is not None:
            return shape
        dims = self.open_dataset(self.gid, name).shape
        if dims is None:  # h5py.Empty: Keras never writes one, and it has no shape to compare
            raise LoadError(f"the HDF5 dataset {self.group.name}/{link_text(name)} is empty "
                            "(a null dataspace): it holds no array")
        return tuple(int(d) for d in dims)


def _looping(name: str) -> str:
    """Say why a group reached by two hard links, or nested past MAX_DEPTH, is refused."""
    return f"the HDF5 group {name} links back into itself or nests deeper than {MAX_DEPTH} levels"


def subtree(tree: Tree, parents: list[str]) -> Tree:
    """Return the dict of the group at ``parents``, creating the groups on the way."""
    node = tree
    for part in parents:
        found = node.setdefault(part, {})
        if not isinstance(found, dict):  # HDF5 names are unique in a group; keep the types exact
            raise LoadError(f"the HDF5 dataset {part} also appears as a group")
        node = found
    return node


def dataset_shapes(tree: Tree | tuple[int, ...] | None, prefix: str = "") -> list[StoredWeight]:
    """Return every dataset below a group of the tree with its path relative to it, in sorted order."""
    if not isinstance(tree, dict):
        return []
    found: list[StoredWeight] = []
    for key in sorted(tree, key=_natural) if len(tree) > 1 else tree:
        item = tree[key]
        if isinstance(item, dict):
            found += dataset_shapes(item, f"{prefix}{key}/")
        else:
            found.append(StoredWeight(key=prefix + key, shape=item))
    return found


def link_text(name: str | bytes) -> str:
    """Return a link name as text: h5py returns one that is not UTF-8 as bytes; escape those."""
    return name.decode("utf-8", "backslashreplace") if isinstance(name, bytes) else name


def _natural(name: str | bytes) -> tuple[int, str]:
    """Sort "vars/10" after "vars/2" (and names h5py returns as bytes among the rest)."""
    key = name if isinstance(name, str) else link_text(name)
    return (int(key), "") if key.isdigit() else (1 << 30, key)


# A model repeats a few class names thousands of times: three regex passes each time were
# a tenth of the weight pairing of a 10,000-layer model.
_group_name = lru_cache(maxsize=1024)(snake_case)

# Configs name a class by its public (exported) name, weight groups by its Python class name.
PYTHON_CLASS = {"GroupQueryAttention": "GroupedQueryAttention"}


class GroupWeights:
    """Keras 3 ``model.weights.h5``: groups named by snake_case class, in model.layers order."""

    match: Literal["path", "order"] = "path"

    def __init__(self, tree: Tree | tuple[int, ...] | None) -> None:
        """Wrap the ``layers`` group of one (possibly nested) model, read by read_tree."""
        self.tree = tree if isinstance(tree, dict) else None
        self.used: dict[str, int] = {}

    @classmethod
    def of(cls, group: Any) -> GroupWeights:
        """Read the ``layers`` group of a weights file (None when it has none)."""
        return cls(None if group is None else read_tree(group))

    def next_key(self, class_name: str) -> str:
        """Return the group name of the next layer of this class, counting like Keras does."""
        base = _group_name(PYTHON_CLASS.get(class_name, class_name))
        count = self.used.get(base)
        self.used[base] = 0 if count is None else count + 1
        return base if count is None else f"{base}_{count + 1}"

    def _next(self, class_name: str) -> Tree | tuple[int, ...] | None:
        """Return the group of the next layer of this class."""
        key = self.next_key(class_name)
        return None if self.tree is None else self.tree.get(key)

    def container(self, name: str, class_name: str) -> GroupWeights:
        """Return the source for a nested model's own ``layers`` group."""
        group = self._next(class_name)
        return GroupWeights(group.get("layers") if isinstance(group, dict) else None)

    def weights(self, name: str, class_name: str) -> tuple[StoredWeight, ...] | None:
        """Return the datasets of the next layer of this class."""
        return tuple(_public(w) for w in dataset_shapes(self._next(class_name)))


def _public(weight: StoredWeight) -> StoredWeight:
    """Name sublayer groups as Keras 3 does: tf_keras writes ``_query_dense`` for ``query_dense``."""
    if not weight.key.startswith("_") and "/_" not in weight.key:
        return weight  # nothing to rename, the usual case
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
        import h5py

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
