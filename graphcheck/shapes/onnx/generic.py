"""Every ONNX op: onnx's inferred shapes, completed (or, past a failure, replaced) by graphcheck's own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from graphcheck.findings import ShapeError
from graphcheck.graph import Dim, Shape
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call, LayerShapes, ShapeFn, WeightSpec, register
from graphcheck.shapes.onnx.ops import OPS

# Ops whose function runs even when an input's shape is unknown (LSTM/GRU/RNN: the attributes
# alone give the output ranks and hidden size); filled by their modules.
ANY_INPUTS: dict[str, ShapeFn] = {}


def stored_specs(call: Call) -> tuple[WeightSpec, ...]:
    """Accept the initializers a node reads as they are: only recurrent ops imply their shapes."""
    return tuple(WeightSpec(name=w.key, path=w.key, shape=w.shape, formula="initializer")
                 for w in call.layer.weights or ())


def stored_shapes(call: Call) -> tuple[Shape | None, ...]:
    """Return the output shapes the loader recorded from onnx's inference (or the file)."""
    shapes = call.config.get("shapes")
    return tuple(shapes) if isinstance(shapes, list) and shapes else (None,)


def trusted(call: Call) -> bool:
    """Return False for the node onnx's strict inference failed on, and every node after it."""
    return not call.config.get("untrusted")


def slot_shapes(call: Call) -> list[Shape | None]:
    """Return the shape of every input slot: edges in slot order, initializers by name."""
    names = call.config.get("inputs")
    stored = {w.key: w.shape for w in call.layer.weights or ()}
    fed = iter(call.inputs)
    shapes: list[Shape | None] = []
    for name in names if isinstance(names, list) else []:
        if not name:
            shapes.append(None)
        elif name in stored:
            shapes.append(stored[name])
        else:
            shapes.append(next(fed, None))
    return shapes


def slot_values(call: Call) -> Mapping[int, Sequence[int]]:
    """Return the small integer values the file fixes for some input slots."""
    values = call.config.get("values")
    return {int(k): v for k, v in values.items()} if isinstance(values, Mapping) else {}


def merge(mine: Shape | None, theirs: Shape | None, prefer_mine: bool) -> Shape | None:
    """Combine two shapes of one tensor dim by dim: static beats symbolic beats unknown."""
    if mine is None or theirs is None:
        return theirs if mine is None else mine
    if len(mine) != len(theirs):
        return mine if prefer_mine else theirs
    first, second = (mine, theirs) if prefer_mine else (theirs, mine)
    return tuple(_better(a, b) for a, b in zip(first, second))


def _better(first: Dim, second: Dim) -> Dim:
    """Return the more specific dim, ``first`` when both are equally specific."""
    return second if _specific(second) > _specific(first) else first


def _specific(dim: Dim) -> int:
    """Rank a dim: static, a symbol from the file, onnx's made-up ``unk__N``, unknown."""
    if isinstance(dim, int):
        return 3
    if isinstance(dim, str):
        return 1 if dim.startswith("unk__") else 2
    return 0


def merged(own: Sequence[Shape | None], call: Call) -> tuple[Shape | None, ...]:
    """Merge own output shapes with onnx's: onnx's win unless the node is past a failure."""
    stored, declared = stored_shapes(call), call.config.get("declared")
    count = max(len(own), len(stored))
    outputs = []
    for i in range(count):
        mine, theirs = own[i] if i < len(own) else None, stored[i] if i < len(stored) else None
        if isinstance(declared, list) and i < len(declared) and declared[i] == theirs:
            theirs = _unbaked(mine, theirs)
        outputs.append(merge(mine, theirs, prefer_mine=not trusted(call)))
    return tuple(outputs)


def _unbaked(mine: Shape | None, declared: Shape | None) -> Shape | None:
    """Put back the file's symbolic dims where a declared value_info baked in the export's size.

    torch's dynamo exporter records intermediate shapes from the example input: a batch of 1
    becomes a static 1 after the first concatenation, although the input's batch is symbolic.
    """
    if mine is None or declared is None or len(mine) != len(declared):
        return declared
    return tuple(m if isinstance(m, str) and not m.startswith("unk__") and isinstance(d, int)
                 else d for m, d in zip(mine, declared))


@register("onnx", "*")
def inferred(call: Call) -> LayerShapes:
    """Any op: onnx's inferred output shapes, completed by graphcheck's own where it has one."""
    whole = ANY_INPUTS.get(call.layer.type)
    if whole is not None:
        return whole(call)
    if call.layer.type == "Input":
        return LayerShapes(outputs=(body_input(call),))
    fn = OPS.get(call.layer.type)
    attrs = call.config.get("attributes")
    outputs = stored_shapes(call) if fn is None else merged(
        fn(slot_shapes(call), attrs if isinstance(attrs, Mapping) else {}, slot_values(call)), call)
    problems: tuple[ShapeError, ...] = ()
    domain = call.config.get("domain", "ai.onnx")
    if domain not in ("ai.onnx", "ai.onnx.ml") and all(s is None for s in outputs):
        problems = (ShapeError(RuleName.UNSUPPORTED_LAYER, f"{call.layer.type!r} from domain {domain!r} "
                               "has no shape inference: its outputs are unknown downstream"),)
    return LayerShapes(outputs=outputs, weights=stored_specs(call), problems=problems)


def body_input(call: Call) -> Shape | None:
    """Return a graph input's shape; a Loop/Scan body input's is completed by the tensor fed to it."""
    stored = stored_shapes(call)[0]
    fed = call.inputs[0] if call.inputs else _fed_initializer(call)
    if fed is None:
        return stored
    axis = call.config.get("scan_axis")
    if isinstance(axis, int) and 0 <= axis < len(fed):
        fed = fed[:axis] + fed[axis + 1:]
    elif stored is None:  # a loop-carried value: an empty accumulator grows, keep only the rank
        fed = tuple(None if d == 0 else d for d in fed)
    else:
        return stored
    return merge(stored, fed, prefer_mine=False)


def _fed_initializer(call: Call) -> Shape | None:
    """Return the shape of an outer initializer fed to a body input, when the loader recorded it."""
    fed = call.config.get("fed")
    return tuple(fed) if isinstance(fed, (list, tuple)) else None


@register("onnx", "Output")
def graph_output(call: Call) -> LayerShapes:
    """Pass a graph output's propagated shape through (the recorded one when it has no producer)."""
    if call.inputs:
        return LayerShapes(outputs=(call.inputs[0],))
    return LayerShapes(outputs=stored_shapes(call))
