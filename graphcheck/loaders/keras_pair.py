"""An architecture (``model.to_json()``) and its ``save_weights`` file, checked as one model."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from graphcheck.findings import LoadError
from graphcheck.graph import Model
from graphcheck.limits import current as current_limits
from graphcheck.loaders import read_head, sniff_bytes
from graphcheck.loaders.h5_kind import h5_kind
from graphcheck.loaders.h5_weights import GroupWeights, LegacyWeights, child, open_h5
from graphcheck.loaders.isolation import isolated
from graphcheck.loaders.keras_config import WeightSource, build_model
from graphcheck.loaders.keras_zip import parse_json, read_json_file


def load_pair(architecture: Path, weights: Path) -> Model:
    """Build the model from the JSON architecture with the weight shapes stored in ``weights``."""
    sniffed = sniff_bytes(read_head(architecture))
    if sniffed.kind != "json":
        raise LoadError("--weights needs an architecture saved with model.to_json(); "
                        f"{architecture.name} is {sniffed.description}")
    config = parse_json(read_json_file(architecture), architecture.name)
    return isolated(partial(_with_weights, architecture, config, weights),
                    current_limits().max_read_seconds)


def _with_weights(architecture: Path, config: dict[str, object], weights: Path) -> Model:
    """Read the weight shapes (in the isolated child: HDF5 is native code) and build the model."""
    with open_h5(str(weights), weights.name) as h5:
        if h5_kind(h5) != "weights":
            raise LoadError(f"{weights.name} is not a save_weights file (Keras 2 .h5 or Keras 3 "
                            ".weights.h5), so it cannot be paired with the architecture")
        source: WeightSource = (LegacyWeights(h5) if "layer_names" in h5.attrs
                                else GroupWeights.of(child(h5, "layers")))
        root = build_model(config, source, architecture.name)
        return Model(path=str(architecture), format="json+weights", root=root, has_weights=True)
