"""Where a ``.keras`` file's weights live: ``layers/<group>``, or Windows paths Keras refuses."""

from __future__ import annotations

from typing import Any

from graphcheck.findings import LoadError, Problem
from graphcheck.graph import StoredWeight
from graphcheck.limits import current as current_limits
from graphcheck.loaders.h5_weights import GroupWeights, child, dataset_shapes, link_text, read_tree
from graphcheck.loaders.keras_config import NoWeights, WeightSource
from graphcheck.rule_names import RuleName

WEIGHTS = "model.weights.h5"


# Where the layers' groups start: Keras 3 and tf.keras 2.15 write "layers", tf.keras 2.13
# "_layer_checkpoint_dependencies" (named after tracking, which graphcheck does not pair).
LAYER_ROOTS = ("layers", "_layer_checkpoint_dependencies")


def weight_source(h5: Any) -> tuple[WeightSource, tuple[Problem, ...]]:
    """Return the weights below ``layers``, or below Windows paths with a problem saying so."""
    layers = child(h5, "layers")
    windows = [] if layers is not None else _backslash_names(h5)
    if not windows:
        return GroupWeights.of(layers), ()
    example = f"{windows[0]}/vars/0"
    checked = "checked them under the paths meant"
    source: WeightSource = BackslashWeights(h5, windows)
    if not windows[0].startswith("layers\\"):
        checked, source = "did not check them", NoWeights()
    return source, (Problem(rule=RuleName.UNREADABLE_MODEL, node=None, message=(
        f"{WEIGHTS} names its weight groups with Windows backslashes ('{example}' where Keras "
        f"looks for '{example.replace(chr(92), '/')}'): Keras on Windows wrote paths so before "
        "keras-team/keras#18528 was fixed, and Keras on other systems, or any Keras since the "
        f"fix, loads none of these weights ('expected N variables, but received 0'). graphcheck "
        f"{checked}. Fix: load the model with the Keras version that saved it, on Windows, and "
        "save it again with a current Keras (or rename the groups, '\\' to '/')")),)


def _backslash_names(h5: Any) -> list[str]:
    """Return the root group names of layers that hold a backslash, sorted (bounded listing)."""
    limit = current_limits().max_h5_objects
    if len(h5) > limit:
        raise LoadError(f"{WEIGHTS} has {len(h5)} root objects, over {limit} (max_h5_objects)")
    names = [link_text(k) for k in h5]
    return sorted(n for n in names if n.split("\\", 1)[0] in LAYER_ROOTS and "\\" in n)


class BackslashWeights(GroupWeights):
    r"""Keras 3 weights stored under Windows paths: root groups named like ``layers\dense``."""

    def __init__(self, root: Any, names: list[str], prefix: str = "layers") -> None:
        """Wrap the file's root group and its backslash names; ``prefix`` is this model's path."""
        super().__init__(None)
        self.root = root
        self.names = names
        self.prefix = prefix

    def container(self, name: str, class_name: str) -> BackslashWeights:
        """Return the weights of a nested model, below its own ``layers``."""
        return BackslashWeights(self.root, self.names,
                                f"{self.prefix}/{self.next_key(class_name)}/layers")

    def weights(self, name: str, class_name: str) -> tuple[StoredWeight, ...] | None:
        """Return the datasets of every group that is this layer's once backslashes read as slashes."""
        path = f"{self.prefix}/{self.next_key(class_name)}"
        found: list[StoredWeight] = []
        for raw in self.names:
            meant = raw.replace("\\", "/")
            if meant == path or meant.startswith(path + "/"):
                rest = meant[len(path) + 1:]
                found += dataset_shapes(read_tree(child(self.root, raw)), f"{rest}/" if rest else "")
        return tuple(found)
