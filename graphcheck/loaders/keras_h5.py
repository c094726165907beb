"""Legacy Keras ``.h5``/``.hdf5`` files, written by Keras 3 or by tf_keras (Keras 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphcheck.findings import Problem
from graphcheck.graph import Model, ModelGraph
from graphcheck.loaders import sniff_bytes
from graphcheck.loaders.h5_kind import not_a_model
from graphcheck.loaders.h5_weights import LegacyWeights, child, open_h5
from graphcheck.loaders.isolation import isolated_load
from graphcheck.loaders.keras_config import NoWeights, WeightSource, build_model
from graphcheck.loaders.keras_legacy import Keras1Weights
from graphcheck.loaders.keras_zip import parse_json
from graphcheck.op_layers import KERAS3_OP_PREFIX
from graphcheck.rule_names import RuleName


class KerasH5Loader:
    """Reads ``model_config`` from the root attributes and weight shapes from ``/model_weights``."""

    name = "h5"
    priority = 100
    suffixes = frozenset({".h5", ".hdf5"})

    def sniff(self, path: Path, head: bytes) -> bool:
        """Accept an HDF5 file (by magic bytes, whatever its suffix)."""
        return sniff_bytes(head).kind == "hdf5"

    def finds(self, path: Path, head: bytes | None) -> bool | None:
        """Check HDF5 models and weights files, whatever their name; skip HDF5 data files."""
        if head is None:  # .h5 is also the suffix of data files: the content decides
            return None
        if sniff_bytes(head).kind == "hdf5":  # weights-only files are noted, data files skipped
            from graphcheck.loaders.h5_kind import file_kind

            return file_kind(path) != "data"
        # Named like a model but not HDF5: checking it says what is wrong.
        return True if path.suffix.lower() in self.suffixes else None

    @isolated_load
    def load(self, path: Path) -> Model:
        """Read config and weight shapes; weight values are never read."""
        with open_h5(str(path), path.name) as h5:
            raw = h5.attrs.get("model_config")
            if raw is None:
                raise not_a_model(h5, path.name)
            config = parse_json(raw if isinstance(raw, bytes) else str(raw).encode(),
                                "model_config")
            group = child(h5, "model_weights")
            source: WeightSource = NoWeights() if group is None else LegacyWeights(group)
            if str(_metadata(h5).get("keras_version", "")).startswith("1."):
                source = Keras1Weights(source)
            root = build_model(config, source, "model_config")
            return Model(path=str(path), format="h5", root=root, metadata=_metadata(h5),
                         has_weights=group is not None, problems=_unmarked_ops(root))


def _unmarked_ops(root: ModelGraph) -> tuple[Problem, ...]:
    """Report Keras 3 op layers written without their module: Keras cannot load the file back."""
    ops = [name for name, layer in root.walk()
           if layer.type.startswith(KERAS3_OP_PREFIX) and layer.module is None]
    if not ops:
        return ()
    shown = ", ".join(ops[:5]) + (f" and {len(ops) - 5} more" if len(ops) > 5 else "")
    return (Problem(rule=RuleName.UNREADABLE_MODEL, node=None, message=(
        f"Keras 3 saved {len(ops)} op layer(s) ({shown}: calls such as x + 3.0 or keras.ops.*) "
        "into this legacy .h5 without their module, so Keras reads them back as layers and "
        "cannot load the file ('Only input tensors may be passed as positional arguments' or "
        "'Unknown layer'). graphcheck read them as ops. Fix: save the model as .keras")),)


def _metadata(h5: Any) -> dict[str, Any]:
    """Return writer facts from the root attributes."""
    meta = {}
    for key in ("keras_version", "backend"):
        value = h5.attrs.get(key)
        if value is not None:
            meta[key] = value.decode() if isinstance(value, bytes) else str(value)
    return meta


LOADER = KerasH5Loader()
