"""Rules that hold every stored weight's shape against what the config implies."""

from __future__ import annotations

from collections.abc import Iterator

from graphcheck.findings import Severity
from graphcheck.graph import StoredWeight, format_shape
from graphcheck.rules import Case, Context, Hit, Rule
from graphcheck.rules.cases import layer, lstm, sequential
from graphcheck.shapes import WeightSpec
from graphcheck.shapes.propagate import NodeResult

# Keras 3 stores random-generator state next to weights; it is not a weight of the layer.
NOT_WEIGHTS = ("seed_generator",)

QUESTION = sequential([None, 10, 64], lstm("lstm", 32), layer("Dense", "dense", units=2))
GOOD_WEIGHTS = {"lstm": {"cell/vars/0": (64, 128), "cell/vars/1": (32, 128), "cell/vars/2": (128,)},
                "dense": {"vars/0": (32, 2), "vars/1": (2,)}}


def fits(stored: tuple[int, ...], expected: tuple[object, ...]) -> bool:
    """Return True when a stored shape matches an expected one (unknown dims match anything)."""
    return len(stored) == len(expected) and all(
        not isinstance(e, int) or s == e for s, e in zip(stored, expected))


def pairs(node: NodeResult) -> Iterator[tuple[WeightSpec | None, StoredWeight | None]]:
    """Pair expected and stored weights by Keras 3 path, or by order for legacy files."""
    stored = [w for w in node.layer.weights or () if not any(n in w.key for n in NOT_WEIGHTS)]
    specs = list(node.weights or ())
    if node.layer.weights_match == "order":
        for index in range(max(len(stored), len(specs))):
            yield (specs[index] if index < len(specs) else None,
                   stored[index] if index < len(stored) else None)
        return
    by_path = {w.key: w for w in stored}
    for spec in specs:
        yield spec, by_path.pop(spec.path, None)
    for weight in by_path.values():
        yield None, weight


def formula(spec: WeightSpec) -> str:
    """Return the spec's formula without a last step that only repeats the shape itself."""
    steps, _, last = spec.formula.rpartition(" = ")
    same = last.replace(" ", "") == format_shape(spec.shape).replace(" ", "")
    return steps if steps and same else spec.formula


def checked(ctx: Context) -> Iterator[tuple[str, NodeResult]]:
    """Yield the nodes whose stored weights can be held against specs."""
    for name, node in ctx.inference.nodes.items():
        if node.layer.weights is not None and node.weights is not None:
            yield name, node


class WeightShapeMismatch(Rule):
    """A stored weight's shape contradicts the layer's config."""

    code = "GC101"
    name = "weight-shape-mismatch"
    severity = Severity.ERROR
    summary = "A stored weight's shape contradicts the layer's config"
    template = "{weight} is stored as {stored}, but the config implies {expected} = {formula}{hint}"
    what = ("Computes the shape every weight must have from the layer's config and the shape "
            "of its input, and compares it with the shape stored in the file.")
    why = ("Keras fails to load such a model with `The shape of the target variable and the "
           "shape of the target value in variable.assign(value) must match`, or, when the input "
           "size was edited, loads silently and fails at predict time.")
    example = ("config.json says `LSTM(units=16)` but the weights were saved for 32 units: "
               "kernel is (64, 128), the config needs (64, 64).")
    fix = "Re-save the model from code; never edit units or input shapes in a saved file."
    VALID = (Case(model=QUESTION, weights=GOOD_WEIGHTS),)
    INVALID = (Case(model=sequential([None, 10, 64], lstm("lstm", 16), layer(
        "Dense", "dense", units=2)), weights=GOOD_WEIGHTS, nodes=("lstm", "lstm", "lstm", "dense"),
        contains="but the config implies"),)

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Report each stored weight whose shape differs from its spec."""
        for name, node in checked(ctx):
            for spec, weight in pairs(node):
                if spec is not None and weight is not None and not fits(weight.shape, spec.shape):
                    hint = spec.hints.get(weight.shape)
                    yield self.hit(name, weight=spec.name, stored=format_shape(weight.shape),
                                   expected=format_shape(spec.shape), formula=formula(spec),
                                   hint=f"; {hint}" if hint else "")


class MissingWeights(Rule):
    """A weight the config implies is not in the file."""

    code = "GC102"
    name = "missing-weights"
    severity = Severity.ERROR
    summary = "A weight the config needs is not stored"
    template = "{weight} {expected} ({formula}) is not stored in the file"
    what = "Reports weights that the layer's config implies but the file does not contain."
    why = "Keras refuses to load the weights (or leaves the layer freshly initialised)."
    example = "`use_bias` switched from False to True in config.json after saving."
    fix = "Re-save the model from code so that config and weights agree."
    VALID = WeightShapeMismatch.VALID
    INVALID = (Case(model=QUESTION, weights={"lstm": {"cell/vars/0": (64, 128),
                                                      "cell/vars/1": (32, 128)},
                                             "dense": GOOD_WEIGHTS["dense"]},
                    nodes=("lstm",), contains="bias"),)

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Report specs with no stored weight."""
        for name, node in checked(ctx):
            for spec, weight in pairs(node):
                if spec is not None and weight is None:
                    yield self.hit(name, weight=spec.name, expected=format_shape(spec.shape),
                                   formula=formula(spec))


class UnexpectedWeights(Rule):
    """The file stores a weight the config does not account for."""

    code = "GC103"
    name = "unexpected-weights"
    severity = Severity.WARNING
    summary = "The file stores a weight the config does not account for"
    template = "the file stores {key} {shape}, which the config does not account for"
    what = "Reports stored weights that no part of the layer's config explains."
    why = "The weights were saved for a different architecture: loading them fails or misplaces them."
    example = "`use_bias=False` set in config.json while the file still holds the bias."
    fix = "Re-save the model from code so that config and weights agree."
    VALID = WeightShapeMismatch.VALID
    INVALID = (Case(model=sequential([None, 10, 64], lstm("lstm", 32, use_bias=False), layer(
        "Dense", "dense", units=2)), weights=GOOD_WEIGHTS, nodes=("lstm",),
        contains="the file stores cell/vars/2 (128,)"),)

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Report stored weights with no spec."""
        for name, node in checked(ctx):
            for spec, weight in pairs(node):
                if spec is None and weight is not None:
                    yield self.hit(name, key=weight.key, shape=format_shape(weight.shape))
