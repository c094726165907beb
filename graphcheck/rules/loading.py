"""Rules about reading the file: unreadable models, layers we cannot follow, embedded code."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from graphcheck.findings import Confidence, Severity
from graphcheck.graph import Layer
from graphcheck.rules import Case, Context, Hit, ProblemRule, Rule
from graphcheck.rules.cases import layer, lstm, sequential

# What `git lfs` checks out in place of a file it has not fetched (the LFS spec's pointer).
LFS_POINTER = (b"version https://git-lfs.github.com/spec/v1\n"
               b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
               b"size 12345\n")
# Operator domains ONNX Runtime implements itself.
ONNX_DOMAINS = frozenset({"ai.onnx", "", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training",
                          "com.microsoft"})
# Packages whose classes Keras looks up in its own registry ("builtins" names Keras functions).
SAFE_PACKAGES = frozenset({"keras", "tf_keras", "tensorflow", "keras_hub", "keras_cv", "keras_nlp",
                           "builtins"})


class UnreadableModel(ProblemRule):
    """The file could not be parsed as a model."""

    code = "GC001"
    name = "unreadable-model"
    severity = Severity.ERROR
    category = "analysis"
    summary = "The file could not be read as a model"
    what = "Reports a file, or a part of it, that graphcheck cannot parse as a model."
    why = ("A model that cannot be parsed cannot be checked, and Keras or ONNX Runtime would "
           "fail on it too, usually with a far less specific error.")
    example = "A truncated download: `model.keras: GC001 unreadable-model not a readable zip archive`."
    fix = "Re-save or re-download the model; the message says which part of the file is broken."
    VALID = (Case(model=sequential([None, 10, 64], lstm("lstm", 32, recurrent_dropout=0.2))),)
    INVALID = (Case(model=sequential([None, 10, 64], lstm("lstm", -5)), nodes=("lstm",),
                    contains="config.units is -5"),
               Case(model=sequential([None, 10, 64], lstm("lstm", 32, recurrent_dropout="x")),
                    nodes=("lstm",), contains="config.recurrent_dropout is 'x', not a number"))


class UnsupportedLayer(ProblemRule):
    """A layer without a shape function: its outputs are unknown downstream."""

    code = "GC002"
    name = "unsupported-layer"
    severity = Severity.NOTE
    confidence = Confidence.HIGH
    summary = "A layer graphcheck has no shape function for"
    what = ("Notes a layer class (a custom layer, a Lambda, a layer graphcheck does not know) "
            "whose output shape cannot be computed without running it.")
    why = ("Shapes after such a layer are unknown, so checks downstream of it are weaker. "
           "graphcheck never imports or runs the layer's code to find out.")
    example = "`Lambda(lambda x: x * 2)` between an LSTM and a Dense layer."
    fix = "Nothing is wrong with the model; replace the Lambda with a built-in layer to get full checks."
    VALID = (Case(model=sequential([None, 4], layer("Dense", "d", units=2))),)
    INVALID = (Case(model=sequential([None, 4], layer("MyLayer", "mine")), nodes=("mine",),
                    contains="no shape function for 'MyLayer'"),)


class UnsafeCode(Rule):
    """A layer that carries code (Lambda bytecode, custom classes): reported, never run."""

    code = "GC003"
    name = "unsafe-code"
    severity = Severity.WARNING
    summary = "The model carries code that loading it in Keras would run"
    template = "{layer} carries {code}: loading this model with Keras would execute it"
    variants: ClassVar[Mapping[str, str]] = {
        "domain": ("operators from the custom domain {domain!r}: running the model needs a "
                   "custom-op library (native code) that graphcheck never loads"),
        "external": ("an initializer's external data location {location!r} points outside the "
                     "model's folder; graphcheck never opens it"),
        "problem": "{message}",  # what the loader found inside the archive (pickles), in its words
    }
    what = ("Reports Lambda layers (which store Python bytecode), classes and functions from "
            "modules outside Keras (custom objects) and pickles inside the archive. Bytecode is "
            "described (function name, file, the names and strings it uses) by a bounded reader "
            "of the marshal format: it is never unmarshalled, imported or run.")
    why = ("`keras.models.load_model` on such a file runs code from the file or imports "
           "modules it names: a model from a stranger can execute anything.")
    example = "`Lambda(lambda x: __import__('os').system('...'))` saved in a `.keras` file."
    fix = ("Replace Lambda layers with built-in layers or registered custom layers whose code "
           "you ship separately; load untrusted models with `safe_mode=True`.")
    VALID = UnsupportedLayer.VALID
    INVALID = (
        Case(model=sequential([None, 4], layer(
            "Lambda", "lam", function={"class_name": "__lambda__", "config": {"code": "4wEAAAAA"}})),
            nodes=("lam",), contains="code not decoded"),
        Case(model=sequential([None, 4], {**layer("Mine", "mine"), "module": None,
                                          "registered_name": "evil>Mine"}),
             nodes=("mine",), contains="evil>Mine"),
        Case(model=sequential([None, 4], layer("Dense", "d", units=2, activation={
            "module": "os", "class_name": "function", "config": "system"})),
            nodes=("d",), contains="module 'os'"),
    )

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Flag code-bearing layers and the loader's reports of embedded pickles."""
        yield from self.problems(ctx)
        if ctx.model.framework == "onnx":
            yield from self._onnx_hazards(ctx.model.metadata)
            return
        for name, item in ctx.model.root.walk():
            found = list(dict.fromkeys(_layer_code(item)))
            if found:
                yield self.hit(name, layer=name, code="; ".join(found))

    def _onnx_hazards(self, metadata: Mapping[str, Any]) -> Iterator[Hit]:
        """Report custom operator domains and external data paths that leave the model's folder."""
        for domain in metadata.get("domains", ()):
            if domain not in ONNX_DOMAINS:
                yield self.hit(None, "domain", domain=domain)
        for location in metadata.get("external_data", ()):
            parts = PurePosixPath(str(location).replace("\\", "/")).parts
            if not parts or parts[0] == "/" or ".." in parts or ":" in parts[0]:
                yield self.hit(None, "external", location=location)


def _layer_code(item: Layer) -> Iterator[str]:
    """Describe every piece of code one layer would bring in, itself and nested in its config."""
    if item.module and not _safe_module(item.module):
        yield f"custom class {item.type!r} from {item.module!r}"
    config: Mapping[str, Any] = item.config
    if item.subgraph is not None:  # nested layers are visited as layers of their own
        config = {k: v for k, v in config.items() if k != "layers"}
    stack: list[tuple[str, object]] = [("config", config)]
    # Only objects and lists are stacked: a scalar holds no code, and a 10,000-layer model has
    # hundreds of thousands of them, each of which cost a path string and an ABC check.
    while stack:
        where, value = stack.pop()
        if isinstance(value, (dict, Mapping)):
            yield from _object_code(value, where)
            stack += [(f"{where}.{k}", v) for k, v in reversed(list(value.items())) if _nests(v)]
        elif isinstance(value, list):
            stack += [(f"{where}[{i}]", v) for i, v in reversed(list(enumerate(value))) if _nests(v)]


# JSON's scalars, told apart by exact type before the ABC check, which cost more than the rest
# of the scan on a 10,000-layer model's hundreds of thousands of scalars.
SCALARS = frozenset({str, int, float, bool, type(None)})


def _nests(value: object) -> bool:
    """Return True for a JSON object or list (something that can hold code), False for a scalar."""
    return type(value) not in SCALARS and isinstance(value, (dict, list, Mapping))


def _object_code(value: Mapping[str, Any], where: str) -> Iterator[str]:
    """Describe code that one JSON object of a config stores or names."""
    inner = value.get("config")
    if value.get("class_name") == "__lambda__" and isinstance(inner, Mapping):
        yield f"Python bytecode in {where}: {_bytecode(str(inner.get('code', '')))}"
    module = value.get("module")
    if isinstance(module, str) and not _safe_module(module):
        yield f"a reference to module {module!r} in {where}"
    registered = value.get("registered_name")
    if isinstance(registered, str) and ">" in registered:
        yield f"custom class {registered!r} in {where}"
    if "lambda" not in value.values():  # one scan in C instead of a Python loop over every key
        return
    for key, kind in value.items():
        if kind != "lambda" or not key.endswith("_type"):
            continue
        dumped = value.get(key[:-len("_type")])
        if isinstance(dumped, list) and dumped and isinstance(dumped[0], str):
            # tf_keras: {"function": [base64 bytecode, defaults, closure], "function_type": "lambda"}
            yield f"Python bytecode in {where}.{key[:-len('_type')]}: {_bytecode(dumped[0])}"


def _bytecode(encoded: str) -> str:
    """Describe base64 marshalled bytecode without running it (its reader imported for a Lambda only)."""
    from graphcheck.loaders.marshal_reader import describe_base64

    return describe_base64(encoded)


def _safe_module(module: str) -> bool:
    """Return True for modules Keras resolves itself, without importing code from elsewhere."""
    return module.split(".", 1)[0] in SAFE_PACKAGES


class LfsPointer(ProblemRule):
    """The file is a Git LFS pointer, not the model."""

    code = "GC004"
    name = "lfs-pointer"
    severity = Severity.ERROR
    category = "analysis"
    summary = "A Git LFS pointer checked out instead of the model"
    what = "Recognises the small text file Git LFS leaves in place of a model it has not fetched."
    why = "Every tool fails on it with a confusing parse error; the model itself is missing."
    example = "A clone made without `git lfs install`, or CI without `lfs: true` on checkout."
    fix = "Run `git lfs pull` (in CI, enable LFS on the checkout step)."
    VALID = UnsupportedLayer.VALID
    INVALID = (Case(file=lambda folder: _write(folder / "model.keras", LFS_POINTER), nodes=(None,),
                    contains="git lfs pull"),)


class InternalError(ProblemRule):
    """graphcheck itself failed on part of the analysis."""

    code = "GC005"
    name = "internal-error"
    severity = Severity.ERROR
    category = "analysis"
    summary = "graphcheck failed while analysing the file"
    what = "Reports an exception inside graphcheck; the other rules and files still run."
    why = "The result for this file is incomplete; it is a bug in graphcheck, not in the model."
    example = "`internal-error rule GC301 failed: KeyError 'units'`."
    fix = "Report it with the model file (or its config.json) attached."


class NotAModel(ProblemRule):
    """An HDF5 file that holds weights only or data: nothing to check on its own."""

    code = "GC006"
    name = "not-a-model"
    severity = Severity.NOTE
    category = "analysis"
    summary = "An HDF5 file with weights only, or data, but no model"
    what = ("Notes an HDF5 file without a Keras model config: the weights that `save_weights` "
            "writes (Keras 2 `.h5`, Keras 3 `.weights.h5`), or a file of arrays. Folder walks "
            "skip data files; this note is for files named on the command line.")
    why = ("Nothing is wrong, but nothing was checked either: weight shapes mean something only "
           "against the architecture that made them.")
    example = "`model.save_weights(\"model.weights.h5\")` committed beside `model.to_json()`."
    fix = ("Check the pair: `graphcheck check arch.json --weights model.weights.h5`, or save the "
           "whole model (`model.save(\"model.keras\")`).")
    VALID = UnsupportedLayer.VALID
    INVALID = (Case(file=lambda folder: _hdf5(folder / "model.weights.h5", ("layers", "vars")),
                    nodes=(None,), contains="holds weights only (save_weights)"),
               Case(file=lambda folder: _hdf5(folder / "data.h5", ("images",)), nodes=(None,),
                    contains="it holds data, not a model"))


def _write(path: Path, data: bytes) -> Path:
    """Write a case's file and return its path."""
    path.write_bytes(data)
    return path


def _hdf5(path: Path, groups: tuple[str, ...]) -> Path:
    """Write an HDF5 file with these empty groups and no model config; return its path."""
    import h5py

    with h5py.File(path, "w") as h5:
        for group in groups:
            h5.create_group(group)
    return path
