"""Models held in memory (a keras.Model, a Keras config dict): read as their saved files would be.

Nothing here imports a framework: a Keras object is read through what its own module offers
(``to_json()``, each variable's shape and where its saved file would store it), and the
framework is already imported because the caller holds the object. The model is never
called, its weights' values never read. An ``onnx.ModelProto`` is checked through the file
loader instead (``graphcheck.api``), so that the wire-level bounds apply to it as to a file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from graphcheck.findings import LoadError
from graphcheck.graph import Model, StoredWeight
from graphcheck.loaders.h5_weights import GroupWeights, NestedLegacyWeights, Tree, subtree
from graphcheck.loaders.keras_config import NoWeights, WeightSource, build_model
from graphcheck.loaders.keras_zip import parse_json


def framework_of(obj: object) -> str | None:
    """Name the package an object's class comes from ("keras", "tf_keras", "onnx"), or None."""
    for cls in type(obj).__mro__:
        root = cls.__module__.partition(".")[0]
        if root in ("keras", "tf_keras", "onnx"):
            return root
    return None


def is_keras3(obj: object) -> bool:
    """Return True for an object of Keras 3 (whose ``.keras`` files store weights by path)."""
    module = sys.modules.get("keras")
    version = str(getattr(module, "__version__", ""))
    return framework_of(obj) == "keras" and version.split(".")[0] == "3"


SUBCLASSED = ("a subclassed model: its config lists no layers, so there is no graph to read "
              "without running call(); build it with the functional API or Sequential")


def config_model(config: Mapping[str, Any], display: str) -> Model:
    """Return the model a ``to_json()``-style dict describes (no weights), as a ``.json`` file is read."""
    try:  # the same bounds and checks as a .json file: through its text
        text = json.dumps(config)
    except (TypeError, ValueError, RecursionError) as error:
        raise LoadError(f"the config dict is not JSON data ({type(error).__name__}: {error}); "
                        "pass json.loads(model.to_json())") from None
    data = parse_json(text.encode("utf-8"), "config")
    root = build_model(data, NoWeights(), "config")
    return Model(path=display, format="json", root=root, has_weights=False)


def keras_model(model: Any, display: str) -> Model:
    """Return a keras.Model's graph with the weight shapes its saved file would hold.

    Keras 3 objects are paired as their ``.keras`` file is (by path, ``layers/<class>/vars/0``),
    tf_keras (and Keras 2) objects as their ``.h5`` file is (by order of each layer's weights).
    """
    data = parse_json(_architecture(model).encode("utf-8"), "model.to_json()")
    if not isinstance(data.get("config"), Mapping) or "layers" not in data["config"]:
        raise LoadError(f"{type(model).__name__} is {SUBCLASSED}")
    if is_keras3(model):
        source: WeightSource = GroupWeights(keras3_tree(model).get("layers"))
        return Model(path=display, format="keras", root=build_model(data, source, "config.json"),
                     metadata={"keras_version": _version("keras")})
    root = build_model(data, LayerWeights(model), "model_config")
    return Model(path=display, format="h5", root=root,
                 metadata={"keras_version": _version(framework_of(model) or "keras")})


def _architecture(model: Any) -> str:
    """Return ``model.to_json()``, or say why the model has none (a subclassed model, a layer)."""
    if not callable(getattr(model, "to_json", None)):
        raise LoadError(f"{type(model).__name__} has no to_json(): not a Keras model")
    try:
        return str(model.to_json())
    except Exception as error:  # Keras raises NotImplementedError, TypeError, ... by version
        raise LoadError(f"model.to_json() failed ({type(error).__name__}: {error}): the model "
                        f"is {SUBCLASSED}") from None


def _version(package: str) -> str:
    """Return an already imported package's version ("" when it is not imported)."""
    return str(getattr(sys.modules.get(package), "__version__", ""))


# Keras 3: the tree of dataset shapes model.save() would write to model.weights.h5.


def keras3_tree(model: Any) -> Tree:
    """Return ``{path: shape}`` below the root, walking the model as ``keras.saving`` does."""
    walker = _Keras3Walk()
    walker.saveable(model, "")
    return walker.tree


class _ShapeStore(dict[str, tuple[int, ...]]):
    """The store ``save_own_variables`` writes into: it keeps each value's shape only."""

    def __setitem__(self, key: str, value: Any) -> None:
        """Keep the shape of the variable (or array) Keras would write, not its values."""
        super().__setitem__(key, tuple(int(d) for d in value.shape))


class _Keras3Walk:
    """Mirrors keras.saving's ``_save_state`` / ``_save_container_state`` with a shape store."""

    def __init__(self) -> None:
        """Start with an empty tree; objects reached twice are written once, as Keras does."""
        from keras.src.saving.keras_saveable import KerasSaveable  # type: ignore[import-untyped]
        from keras.src.saving.saving_lib import _walk_saveable  # type: ignore[import-untyped]

        self.tree: Tree = {}
        self.seen: set[int] = set()
        self.saveable_type: type = KerasSaveable
        self.children = _walk_saveable

    def saveable(self, obj: Any, path: str) -> None:
        """Record an object's own variables under ``path/vars``, then its children."""
        if id(obj) in self.seen:
            return
        if hasattr(obj, "save_own_variables"):
            store = _ShapeStore()
            obj.save_own_variables(store)
            for key, shape in store.items():
                _put(self.tree, f"{path}/vars/{key}".lstrip("/"), shape)
        self.seen.add(id(obj))
        for attr, child in self.children(obj):
            self._child(child, f"{path}/{attr}".lstrip("/"), set())

    def _child(self, child: Any, path: str, containers: set[int]) -> None:
        """Descend into a saveable child or a container of them."""
        if isinstance(child, self.saveable_type):
            self.saveable(child, path)
        elif isinstance(child, (list, dict, tuple)):
            self.container(child, path, containers)

    def container(self, items: Any, path: str, containers: set[int]) -> None:
        """Record a list's saveables under their snake_case class names, numbered like Keras."""
        if id(items) in containers:
            return
        containers.add(id(items))
        used: dict[str, int] = {}
        for item in list(items.values()) if isinstance(items, dict) else items:
            if isinstance(item, self.saveable_type):
                self.saveable(item, f"{path}/{_unique(_snake(type(item).__name__), used)}")
            elif isinstance(item, (list, dict, tuple)):
                self.container(item, f"{path}/{_unique('container', used)}", containers)


def _snake(name: str) -> str:
    """Return Keras's snake_case of a class name (its own function: the saved file uses it)."""
    from keras.src.utils.naming import to_snake_case  # type: ignore[import-untyped]

    return str(to_snake_case(name))


def _unique(name: str, used: dict[str, int]) -> str:
    """Return a name numbered as Keras's saving does: ``lstm``, ``lstm_1``, ..."""
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _put(tree: Tree, path: str, shape: tuple[int, ...]) -> None:
    """Insert a dataset's shape at a slash-separated path, as read_tree builds a file's tree."""
    *parents, last = path.split("/")
    subtree(tree, parents)[last] = shape


# tf_keras / Keras 2: legacy .h5 pairing, each layer's weights in the order save() writes them.


class LayerWeights:
    """The weights of a tf_keras model's layers, found by layer name as a legacy ``.h5`` stores them."""

    match: Literal["path", "order"] = "order"

    def __init__(self, model: Any) -> None:
        """Wrap the model whose ``get_layer(name)`` finds each layer."""
        self.model = model

    def container(self, name: str, class_name: str) -> WeightSource:
        """Return a nested model's weights, flat, as a legacy file stores them under its name."""
        return NestedLegacyWeights(list(self._stored(name)))

    def weights(self, name: str, class_name: str) -> tuple[StoredWeight, ...] | None:
        """Return the layer's trainable then non-trainable weights, named as the file names them."""
        return tuple(self._stored(name))

    def _stored(self, name: str) -> Iterator[StoredWeight]:
        """Yield the weights ``save_weights_to_hdf5_group`` would write for layer ``name``."""
        try:
            layer = self.model.get_layer(name)
        except ValueError:
            return
        for weight in [*layer.trainable_weights, *layer.non_trainable_weights]:
            yield StoredWeight(key=str(weight.name), shape=tuple(int(d) for d in weight.shape))
