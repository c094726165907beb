"""Architecture-only JSON from ``model.to_json()``: lint a design before training it."""

from __future__ import annotations

from pathlib import Path

from graphcheck.graph import Model
from graphcheck.loaders import sniff_bytes
from graphcheck.loaders.keras_config import NoWeights, build_model
from graphcheck.loaders.keras_zip import parse_json, read_json_file


class KerasJsonLoader:
    """Reads a model config saved as JSON; there are no weights to check."""

    name = "json"

    def sniff(self, path: Path, head: bytes) -> bool:
        """Accept a file whose content starts like a JSON document."""
        return not path.is_dir() and sniff_bytes(head).kind == "json"

    def load(self, path: Path) -> Model:
        """Parse the JSON and build the graph."""
        config = parse_json(read_json_file(path), path.name)
        root = build_model(config, NoWeights(), path.name)
        return Model(path=str(path), format="json", root=root, has_weights=False)


LOADER = KerasJsonLoader()
