"""The layer coverage table of docs/compatibility.md: every public layer class, supported or why not.

Run ``python -m tests.layer_coverage`` (with keras, tf_keras and keras_hub installed) to rewrite
the tables; tests/oracle/test_layer_coverage.py fails when one is stale or a public class has no
entry. keras_hub's classes have their own table, keyed by registered name ("keras_hub>X").
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[1] / "docs" / "compatibility.md"
START, END = "<!-- layer-coverage:start -->", "<!-- layer-coverage:end -->"
HUB_MARKERS = ("<!-- keras-hub-coverage:start -->", "<!-- keras-hub-coverage:end -->")

# Classes with no shape function, and why.
UNSUPPORTED = {
    "Layer": "abstract base class: a subclass is saved under its own name (a custom layer: "
             "`unsupported-layer`, and `unsafe-code` when its module is outside Keras)",
    "Wrapper": "abstract base class of the wrappers (TimeDistributed, Bidirectional, ...)",
    "AbstractRNNCell": "abstract base class of custom cells",
    "DenseFeatures": "its width comes from `tf.feature_column` objects, not from layer "
                     "configs; reported as `unsupported-layer`",
    "DynamicEmbedding": "experimental: its vocabulary grows while training; reported as "
                        "`unsupported-layer`",
    "DynamicLookup": "experimental: its vocabulary grows while training; reported as "
                     "`unsupported-layer`",
}

# Classes with a shape function that no oracle model can hold, and why.
NOT_IN_ORACLE = {
    "SpectralNormalization": "tf_keras 2.21 cannot build it (\"Layer input_spec must be an "
                             "instance of InputSpec\"); oracle-tested with Keras 3",
    "Equalization": "Keras 3.15 cannot save it in a model: at inference it returns its input "
                    "tensor, so a functional model drops it and a Sequential one has a cycle",
    "MaxNumBoundingBoxes": "works on a dict of images and bounding boxes, which a saved "
                           "functional model cannot feed it; the image passes unchanged",
}

# Test modules whose model builders count as oracle coverage, per framework.
ORACLE_BUILDERS = {
    "keras": (("tests.oracle.test_oracle_keras", "BUILDERS"), ("tests.oracle.test_oracle_layers", "KERAS3")),
    "tf_keras": (("tests.oracle.test_shapes_oracle_tf_keras", "BUILDERS"),
                 ("tests.oracle.test_oracle_layers", "TF_KERAS")),
}


@dataclass(kw_only=True)
class Entry:
    """One layer class: its public names per framework and where an oracle test builds it."""

    name: str
    aliases: set[str] = field(default_factory=set)
    frameworks: dict[str, str] = field(default_factory=dict)  # framework -> version
    tested: dict[str, str] = field(default_factory=dict)  # framework -> test module


def _layer_classes(namespace: Any, base: type) -> Iterator[tuple[str, type]]:
    """Yield (public name, class) for every Layer subclass a namespace exports."""
    for public in dir(namespace):
        value = getattr(namespace, public)
        if inspect.isclass(value) and issubclass(value, base):
            yield public, value


def _application_classes(package: Any, base: type) -> Iterator[tuple[str, type]]:
    """Yield the Layer subclasses that the applications' own modules define (LayerScale, ...)."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(package.__path__):
        if info.name.endswith("_test"):  # Keras ships its own tests beside the code
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, base) and value.__module__ == module.__name__:
                yield value.__name__, value


def public_classes() -> dict[str, Entry]:
    """Return every public layer class of keras and tf_keras, keyed by its Python class name."""
    import keras
    import keras.src.applications as k3_apps
    import tf_keras
    import tf_keras.src.applications as tfk_apps

    entries: dict[str, Entry] = {}
    sources = [("keras", keras.__version__, _layer_classes(keras.layers, keras.layers.Layer)),
               ("keras", keras.__version__, _application_classes(k3_apps, keras.layers.Layer)),
               ("tf_keras", tf_keras.__version__, _layer_classes(tf_keras.layers, tf_keras.layers.Layer)),
               ("tf_keras", tf_keras.__version__,
                _layer_classes(tf_keras.layers.experimental, tf_keras.layers.Layer)),
               ("tf_keras", tf_keras.__version__, _application_classes(tfk_apps, tf_keras.layers.Layer))]
    for framework, version, found in sources:
        for public, cls in found:
            entry = entries.setdefault(cls.__name__, Entry(name=cls.__name__))
            entry.aliases.add(public)
            entry.frameworks[framework] = version
    for registered in tf_keras.saving.get_custom_objects():
        plain = registered.split(">")[-1]
        if plain in entries:
            entries[plain].aliases.add(registered)
    return entries


def _class_names(config: Any) -> Iterator[str]:
    """Yield every class_name in a serialized model config, nested layers and cells included."""
    if isinstance(config, dict):
        if isinstance(config.get("class_name"), str):
            yield config["class_name"]
        for value in config.values():
            yield from _class_names(value)
    elif isinstance(config, list):
        for value in config:
            yield from _class_names(value)


def oracle_classes() -> dict[str, dict[str, str]]:
    """Return {class name: {framework: test module}} for every class an oracle builder uses."""
    import importlib

    import keras
    import tf_keras

    modules = {"keras": keras, "tf_keras": tf_keras}
    found: dict[str, dict[str, str]] = {}
    for framework, sources in ORACLE_BUILDERS.items():
        for module_name, attribute in sources:
            builders = getattr(importlib.import_module(module_name), attribute)
            for build in builders.values():
                config = json.loads(build(modules[framework]).to_json())
                for name in _class_names(config):
                    found.setdefault(name, {}).setdefault(framework, module_name.split(".")[-1])
    return found


def entries() -> list[Entry]:
    """Return every public class with the oracle tests that build it, sorted by name."""
    found = public_classes()
    tested = oracle_classes()
    for entry in found.values():
        for name in entry.aliases | {entry.name}:
            for framework, module in tested.get(name, {}).items():
                entry.tested.setdefault(framework, module)
    return sorted(found.values(), key=lambda e: e.name.lower())


def supported(entry: Entry) -> bool:
    """Return True when graphcheck registers a Keras shape function under one of its names."""
    import graphcheck.shapes.keras  # noqa: F401  (registers the shape functions)
    from graphcheck.shapes import SHAPE_FUNCTIONS

    return any(("keras", n) in SHAPE_FUNCTIONS for n in entry.aliases | {entry.name})


def _cell(entry: Entry, framework: str) -> str:
    """Render one framework column: absent, oracle-tested (by which test) or shape function only."""
    if framework not in entry.frameworks:
        return "-"
    module = entry.tested.get(framework)
    return f"oracle ({module})" if module else "not oracle-tested"


def status(entry: Entry) -> str:
    """Say whether a class is supported, and why not (or why untested) otherwise."""
    from graphcheck.shapes.keras.foreign import WRAPPED

    if entry.name in WRAPPED:
        return (f"described, never run: it runs {WRAPPED[entry.name][0]}; `unsupported-layer` "
                "says what its config records (graphcheck/shapes/keras/foreign.py)")
    if not supported(entry):
        return f"unsupported: {UNSUPPORTED.get(entry.name, 'NO ENTRY')}"
    missing = [f for f in entry.frameworks if f not in entry.tested]
    if missing:
        return f"supported; {NOT_IN_ORACLE.get(entry.name, 'NO ENTRY')}"
    return "supported"


def render(rows: list[Entry]) -> str:
    """Render the coverage table in Markdown."""
    import keras
    import tf_keras

    lines = [f"Generated by `python -m tests.layer_coverage` from keras {keras.__version__} and "
             f"tf_keras {tf_keras.__version__}. \"oracle\" means a test builds the class in a "
             "model with that framework, saves it and compares every layer's output shapes and "
             "parameter count with the framework's own.", "",
             f"{len(rows)} classes.", "",
             f"| class | other public names | keras {keras.__version__} | "
             f"tf_keras {tf_keras.__version__} | status |", "|---|---|---|---|---|"]
    for entry in rows:
        others = ", ".join(sorted(entry.aliases - {entry.name})) or ""
        lines.append(f"| {entry.name} | {others} | {_cell(entry, 'keras')} | "
                     f"{_cell(entry, 'tf_keras')} | {status(entry)} |")
    return "\n".join(lines)


# keras_hub.layers classes with no shape function, and why (keyed by Python class name).
_PREPROCESSOR = ("runs in a keras_hub preprocessor on token ids (ragged or string tensors in a "
                 "tf.data pipeline), not inside a saved model's graph; `unsupported-layer` if a "
                 "graph calls it")
_NO_SYMBOLIC = ("preprocessing that keras_hub runs before the model: Keras cannot "
                "infer its output symbolically (\"Could not automatically infer the output "
                "shape\"), so no functional model holds it")
_PATCHES = ("a model-specific preprocessor that turns images into a dict of patches and position "
            "ids sized by its own resizing rules; `unsupported-layer`")
_SUBNETWORK = ("a whole sub-network of the SAM/SAM3 models, built from model-specific configs; "
               "`unsupported-layer` (past it, the shapes a .keras file records are used)")
_DETECTION = ("box arithmetic used by keras_hub's object detectors in their training and "
              "prediction steps, outside the functional graph they save; `unsupported-layer`")
HUB_UNSUPPORTED = {
    **dict.fromkeys(("MaskedLMMaskGenerator", "MultiSegmentPacker", "RandomDeletion", "RandomSwap",
                     "StartEndPacker"), _PREPROCESSOR),
    **dict.fromkeys(("AudioConverter", "VideoConverter", "Gemma4AudioConverter",
                     "Gemma4VideoConverter", "WhisperAudioConverter", "Qwen3_5ImageConverter"),
                    _NO_SYMBOLIC),
    "Gemma3nAudioConverter": "Gemma3n's audio feature extractor (17 required arguments, "
                             "waveforms in, log-mel features out) that keras_hub runs before the "
                             "model; `unsupported-layer`",
    "MoonshineAudioConverter": "Moonshine's waveform normalizer that keras_hub runs before the "
                               "model; `unsupported-layer`",
    **dict.fromkeys(("Gemma4ImageConverter", "Qwen3_5VideoConverter"), _PATCHES),
    **dict.fromkeys(("SAM3DetrDecoder", "SAM3DetrEncoder", "SAM3GeometryEncoder", "SAM3MaskDecoder",
                     "SAM3TextEncoder", "SAM3VisionEncoder", "SAMMaskDecoder", "SAMPromptEncoder"),
                    _SUBNETWORK),
    **dict.fromkeys(("AnchorGenerator", "BoxMatcher", "NonMaxSuppression"), _DETECTION),
}
# Supported classes whose shape function refuses one way of configuring them, and why.
HUB_LIMITS = {
    "MaskedLMHead": "except with a shared `token_embedding`: a .keras stores the shared table "
                    "once, under the embedding layer, an .h5 under both layers, so its weights "
                    "cannot be held to one spec (`unsupported-layer` says so)",
}


@dataclass(frozen=True, kw_only=True)
class HubEntry:
    """One keras_hub layer class: its Python name, registered name and whether an oracle builds it."""

    name: str
    registered: str
    tested: bool


def hub_entries() -> list[HubEntry]:
    """Return every public layer class of keras_hub.layers, with oracle coverage, sorted by name."""
    import keras
    import keras_hub

    from tests.oracle.test_oracle_keras_hub import BUILDERS

    built = {name for build in BUILDERS.values()
             for name in _registered_names(json.loads(build(keras, keras_hub).to_json()))}
    found = {cls.__name__: keras.saving.get_registered_name(cls)
             for _, cls in _layer_classes(keras_hub.layers, keras.layers.Layer)}
    return [HubEntry(name=name, registered=registered, tested=registered in built)
            for name, registered in sorted(found.items(), key=lambda item: item[0].lower())]


def _registered_names(config: Any) -> Iterator[str]:
    """Yield every registered_name in a serialized model config."""
    if isinstance(config, dict):
        if isinstance(config.get("registered_name"), str):
            yield config["registered_name"]
        for value in config.values():
            yield from _registered_names(value)
    elif isinstance(config, list):
        for value in config:
            yield from _registered_names(value)


def hub_supported(registered: str) -> bool:
    """Return True when graphcheck registers a Keras shape function under the registered name."""
    import graphcheck.shapes.keras  # noqa: F401  (registers the shape functions)
    from graphcheck.shapes import SHAPE_FUNCTIONS

    return ("keras", registered) in SHAPE_FUNCTIONS


def hub_status(entry: HubEntry) -> str:
    """Say whether a keras_hub class is supported and oracle-tested, and why not otherwise."""
    if not hub_supported(entry.registered):
        return f"unsupported: {HUB_UNSUPPORTED.get(entry.name, 'NO ENTRY')}"
    limit = f" ({HUB_LIMITS[entry.name]})" if entry.name in HUB_LIMITS else ""
    return f"supported{limit}" if entry.tested else f"supported; NO ENTRY: not oracle-tested{limit}"


def render_hub(rows: list[HubEntry]) -> str:
    """Render the keras_hub coverage table in Markdown."""
    import keras
    import keras_hub

    lines = [f"Generated by `python -m tests.layer_coverage` from keras_hub {keras_hub.__version__} "
             f"(keras {keras.__version__}): every layer class `keras_hub.layers` exports, under the "
             "name a saved file records for it. \"oracle\" means "
             "tests/oracle/test_oracle_keras_hub.py builds it in a model, saves it as .keras and "
             ".h5 and compares every layer's output shapes and parameter count with keras_hub's.",
             "", f"{len(rows)} classes.", "",
             f"| class | registered name | keras_hub {keras_hub.__version__} | status |",
             "|---|---|---|---|"]
    for entry in rows:
        tested = "oracle (test_oracle_keras_hub)" if entry.tested else "not oracle-tested"
        lines.append(f"| {entry.name} | {entry.registered} | {tested} | {hub_status(entry)} |")
    return "\n".join(lines)


def committed(markers: tuple[str, str] = (START, END)) -> str:
    """Return the table currently between a pair of markers of docs/compatibility.md."""
    start, end = markers
    text = DOC.read_text(encoding="utf-8")
    found = re.search(re.escape(start) + r"\n(.*?)\n" + re.escape(end), text, re.S)
    return found.group(1) if found else ""


def write(table: str, markers: tuple[str, str] = (START, END)) -> None:
    """Put the table between a pair of markers, creating the document or the markers if needed."""
    start, end = markers
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Compatibility\n"
    if start not in text or end not in text:
        text = text.rstrip("\n") + f"\n\n{start}\n{end}\n"
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    DOC.write_text(f"{head}{start}\n{table}\n{end}{tail}", encoding="utf-8")


if __name__ == "__main__":
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    write(render(entries()))
    write(render_hub(hub_entries()), HUB_MARKERS)
