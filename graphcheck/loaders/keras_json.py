"""Architecture-only JSON from ``model.to_json()``: lint a design before training it."""

from __future__ import annotations

import re
from pathlib import Path

from graphcheck.graph import Model
from graphcheck.loaders import sniff_bytes
from graphcheck.loaders.keras_config import NoWeights, build_model
from graphcheck.loaders.keras_zip import parse_json, read_json_file

# model.to_json() starts with "module" (Keras 3) or "class_name" (tf_keras, sorted keys).
KERAS_JSON = re.compile(rb'^\s*\{\s*"(module|class_name)"\s*:')


class KerasJsonLoader:
    """Reads a model config saved as JSON; there are no weights to check."""

    name = "json"
    priority = 200
    suffixes: frozenset[str] = frozenset()  # not every .json is a model: see finds

    def sniff(self, path: Path, head: bytes) -> bool:
        """Accept a file whose content starts like a JSON document."""
        return not path.is_dir() and sniff_bytes(head).kind == "json"

    def finds(self, path: Path, head: bytes | None) -> bool | None:
        """Check ``.json`` files that start like ``model.to_json()``, not every JSON in a repo."""
        if head is None or path.suffix.lower() != ".json":
            return None
        return KERAS_JSON.match(head) is not None and b'"class_name"' in head

    def load(self, path: Path) -> Model:
        """Parse the JSON and build the graph."""
        config = parse_json(read_json_file(path), path.name)
        root = build_model(config, NoWeights(), path.name)
        return Model(path=str(path), format="json", root=root, has_weights=False)


LOADER = KerasJsonLoader()
