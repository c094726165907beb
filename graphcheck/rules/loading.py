"""Rules about reading the file: unreadable models, layers we cannot follow, embedded code."""

from __future__ import annotations

from collections.abc import Iterator

from graphcheck.findings import Confidence, Severity
from graphcheck.rules import Case, Context, Hit, ProblemRule, Rule
from graphcheck.rules.cases import layer, sequential


class UnreadableModel(ProblemRule):
    """The file could not be parsed as a model."""

    code = "GC001"
    name = "unreadable-model"
    severity = Severity.ERROR
    category = "analysis"
    summary = "The file could not be read as a model"
    template = "{what was wrong, and where in the file}"
    what = "Reports a file, or a part of it, that graphcheck cannot parse as a model."
    why = ("A model that cannot be parsed cannot be checked, and Keras or ONNX Runtime would "
           "fail on it too, usually with a far less specific error.")
    example = "A truncated download: `model.keras: GC001 unreadable-model not a readable zip archive`."
    fix = "Re-save or re-download the model; the message says which part of the file is broken."


class UnsupportedLayer(ProblemRule):
    """A layer without a shape function: its outputs are unknown downstream."""

    code = "GC002"
    name = "unsupported-layer"
    severity = Severity.NOTE
    confidence = Confidence.HIGH
    summary = "A layer graphcheck has no shape function for"
    template = "no shape function for {type}: its outputs are unknown downstream"
    what = ("Notes a layer class (a custom layer, a Lambda, a layer graphcheck does not know) "
            "whose output shape cannot be computed without running it.")
    why = ("Shapes after such a layer are unknown, so checks downstream of it are weaker. "
           "graphcheck never imports or runs the layer's code to find out.")
    example = "`Lambda(lambda x: x * 2)` between an LSTM and a Dense layer."
    fix = "Nothing is wrong with the model; replace the Lambda with a built-in layer to get full checks."
    VALID = (Case(model=sequential([None, 4], layer("Dense", "d", units=2))),)
    INVALID = (Case(model=sequential([None, 4], layer("MyLayer", "mine")), nodes=("mine",)),)


class UnsafeCode(Rule):
    """A layer that carries code (Lambda bytecode, custom classes): reported, never run."""

    code = "GC003"
    name = "unsafe-code"
    severity = Severity.WARNING
    summary = "The model carries code that loading it in Keras would run"
    template = "{layer} carries {kind}: loading this model with Keras would execute it"
    what = ("Reports Lambda layers (which store Python bytecode) and layers whose class comes "
            "from outside Keras (custom objects), without decoding or running them.")
    why = ("`keras.models.load_model` on such a file runs code from the file or imports "
           "modules it names: a model from a stranger can execute anything.")
    example = "`Lambda(lambda x: __import__('os').system('...'))` saved in a `.keras` file."
    fix = ("Replace Lambda layers with built-in layers or registered custom layers whose code "
           "you ship separately; load untrusted models with `safe_mode=True`.")
    VALID = UnsupportedLayer.VALID
    INVALID = (Case(model=sequential([None, 4], layer(
        "Lambda", "lam", function={"class_name": "__lambda__", "config": {"code": "4wEAAAAA"}})),
        nodes=("lam",)),)

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Flag Lambda layers and classes from modules other than Keras's own."""
        from graphcheck.loaders.keras_config import walk_layers

        if ctx.model.framework != "keras":
            return
        for name, item in walk_layers(ctx.model.root):
            if item.type == "Lambda":
                yield Hit(node=name, message=f"{name} is a Lambda layer: it stores Python "
                          "code that Keras would deserialise and run on load")
            elif item.module and not item.module.startswith(("keras", "tf_keras", "tensorflow")):
                yield Hit(node=name, message=f"{name} is a custom class {item.type!r} from "
                          f"{item.module!r}: Keras would import that module to load it")


class LfsPointer(ProblemRule):
    """The file is a Git LFS pointer, not the model."""

    code = "GC004"
    name = "lfs-pointer"
    severity = Severity.ERROR
    category = "analysis"
    summary = "A Git LFS pointer checked out instead of the model"
    template = "this is a Git LFS pointer, not the model: run `git lfs pull`"
    what = "Recognises the small text file Git LFS leaves in place of a model it has not fetched."
    why = "Every tool fails on it with a confusing parse error; the model itself is missing."
    example = "A clone made without `git lfs install`, or CI without `lfs: true` on checkout."
    fix = "Run `git lfs pull` (in CI, enable LFS on the checkout step)."


class InternalError(ProblemRule):
    """graphcheck itself failed on part of the analysis."""

    code = "GC005"
    name = "internal-error"
    severity = Severity.ERROR
    category = "analysis"
    summary = "graphcheck failed while analysing the file"
    template = "rule {rule} failed: {error}"
    what = "Reports an exception inside graphcheck; the other rules and files still run."
    why = "The result for this file is incomplete; it is a bug in graphcheck, not in the model."
    example = "`internal-error rule GC301 failed: KeyError 'units'`."
    fix = "Report it with the model file (or its config.json) attached."
