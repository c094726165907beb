"""Read the inbound nodes of a Keras config: which tensors (and constants) feed each call."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphcheck.findings import LoadError
from graphcheck.graph import Shape, TensorRef
from graphcheck.limits import current as current_limits
from graphcheck.op_layers import ARGS_KEY, DYNAMIC_KEY, KERAS3_OP_CLASSES, TENSOR_MARK

# tf.keras 2.4+ records a call on a TF function (x + y, tf.reshape, x[1:]) as one of these
# layers; TF 2.0-2.3 recorded the TF operation itself as a TensorFlowOpLayer (its NodeDef and
# constant inputs in the config).
TF_OP_LAYERS = frozenset({"TFOpLambda", "SlicingOpLambda", "TensorFlowOpLayer"})
# Keras 3 records an op called on symbolic tensors (x + 3.0, keras.ops.mean) as an Operation from
# one of these modules; its class name ("Add", "Reshape") is also a layer's, so the type gets
# op_layers.KERAS3_OP_PREFIX to keep the two apart.
KERAS3_OP_MODULES = ("keras.src.ops.", "keras.ops.")
# Where a Keras 2 inbound node passes a constant instead of a tensor (tf_keras engine/node.py).
CONSTANT_VALUE = "_CONSTANT_VALUE"


def obj(value: object, where: str) -> Mapping[str, Any]:
    """Return ``value`` as a JSON object or raise a LoadError that says where."""
    if not isinstance(value, Mapping):
        raise LoadError(f"{where} is {type(value).__name__}, expected an object")
    return value


def seq(value: object, where: str) -> list[Any]:
    """Return ``value`` as a JSON array or raise a LoadError that says where."""
    if not isinstance(value, list):
        raise LoadError(f"{where} is {type(value).__name__}, expected a list")
    return value


def shape_of(value: object, where: str) -> Shape:
    """Validate a JSON shape: a list of ints (>= 0) and nulls, within the rank and size limits."""
    items = seq(value, where)
    limits = current_limits()
    if len(items) > limits.max_rank:
        raise LoadError(f"{where} has rank {len(items)}, over the limit of {limits.max_rank} "
                        "(max_rank)")
    for dim in items:
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim < 0):
            raise LoadError(f"{where} has dimension {dim!r}")
        if dim is not None and dim > limits.max_dim:
            raise LoadError(f"{where} has dimension {dim}, over the limit of {limits.max_dim} "
                            "(max_dim)")
    return tuple(items)


def is_keras3_op(entry: Mapping[str, Any]) -> bool:
    """Return True for a Keras 3 op layer (an Operation from keras.src.ops in a functional graph)."""
    module = entry.get("module")
    return (isinstance(module, str) and module.startswith(KERAS3_OP_MODULES)) or unmarked_op(entry)


def unmarked_op(entry: Mapping[str, Any]) -> bool:
    """Return True for a Keras 3 op layer that a legacy .h5 wrote without its module.

    Keras 3's .h5 writer drops "module"; what still tells an Operation from a layer is its
    config: a layer's always holds "trainable", an Operation's only its name and the op's own
    settings. Keras itself then reads the op as a layer and cannot load the file.
    """
    config = entry.get("config")
    nodes = inbound(entry)
    return ("module" not in entry and entry.get("class_name") in KERAS3_OP_CLASSES
            and isinstance(config, Mapping) and "trainable" not in config and bool(nodes)
            and all(isinstance(node, Mapping) for node in nodes))


def is_op_entry(entry: Mapping[str, Any]) -> bool:
    """Return True for a layer entry that records a call on a function: TF op layers, Keras 3 ops."""
    return entry.get("class_name") in TF_OP_LAYERS or is_keras3_op(entry)


def call_options(entry: Mapping[str, Any], where: str) -> tuple[Mapping[str, Any], ...]:
    """Return the non-tensor keyword arguments of each call in a layer's inbound_nodes.

    An op layer's positional arguments are kept too (under ARGS_KEY, tensors replaced by
    ``{TENSOR_MARK: i}``, i counting positional tensors): constants such as the 3.0 of
    ``x + 3.0`` are operands its shape function needs.
    """
    options = []
    op = is_op_entry(entry)
    for call, node in enumerate(inbound(entry)):
        args: object = None
        if isinstance(node, Mapping):
            kwargs = node.get("kwargs")
            args = _mark_keras3(node.get("args", []), [0]) if op else None
        elif isinstance(node, list):
            kwargs = _keras2_kwargs(list(_keras2_items(node, f"{where}.inbound_nodes[{call}]")))
            args = [_mark_keras2(node, [0])] if op else None
            if entry.get("class_name") == "TensorFlowOpLayer":
                args = _tensorflow_op_args(entry.get("config"))
        else:
            kwargs = None
        found = ({k: v for k, v in kwargs.items() if not _holds_tensor(v)}
                 if isinstance(kwargs, Mapping) else {})
        if args is not None and isinstance(kwargs, Mapping):
            # An op's keyword holding tensors keeps its structure too (x[:, :n]: a slice's stop).
            found[DYNAMIC_KEY] = {k: _mark_refs(v) for k, v in kwargs.items() if _holds_tensor(v)}
        options.append(found if args is None else {**found, ARGS_KEY: args})
    return tuple(options)


def _mark_refs(value: object) -> object:
    """Copy a Keras 2 keyword value with each tensor triple replaced by a TENSOR_MARK of -1."""
    if is_triple(value):
        return {TENSOR_MARK: -1}
    if isinstance(value, list):
        return [_mark_refs(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _mark_refs(v) for k, v in value.items()}
    return value


def _tensorflow_op_args(config: object) -> list[Any]:
    """Return a TensorFlowOpLayer's operation inputs: constants by index, tensors in order."""
    node_def = config.get("node_def") if isinstance(config, Mapping) else None
    raw = node_def.get("input") if isinstance(node_def, Mapping) else None
    inputs = [i for i in raw if isinstance(i, str) and not i.startswith("^")] if isinstance(
        raw, list) else []
    constants = config.get("constants") if isinstance(config, Mapping) else None
    constants = constants if isinstance(constants, Mapping) else {}
    args: list[Any] = []
    tensors = 0
    for index in range(len(inputs)):
        if str(index) in constants:
            value = constants[str(index)]
            # tf_keras wraps NumPy constants as {"class_name": "__numpy__", "config": {"value"}}
            inner = value.get("config") if isinstance(value, Mapping) else None
            args.append(inner.get("value") if isinstance(inner, Mapping) else value)
        else:
            args.append({TENSOR_MARK: tensors})
            tensors += 1
    return args


def _mark_keras3(value: object, count: list[int]) -> object:
    """Copy Keras 3 call arguments with each tensor replaced by its positional index."""
    if isinstance(value, list):
        return [_mark_keras3(v, count) for v in value]
    if isinstance(value, Mapping) and value.get("class_name") == "__keras_tensor__":
        count[0] += 1
        return {TENSOR_MARK: count[0] - 1}
    return value


def _mark_keras2(value: object, count: list[int]) -> object:
    """Copy a Keras 2 node's first argument with tensors as indices and constants as values."""
    if _is_item(value):
        assert isinstance(value, list)
        if value[0] == CONSTANT_VALUE:
            return value[2]
        count[0] += 1
        return {TENSOR_MARK: count[0] - 1}
    if isinstance(value, list):
        return [_mark_keras2(v, count) for v in value]
    return value


def _is_item(value: object) -> bool:
    """Return True for one Keras 2 node item: [layer, node, tensor(, kwargs)] (tf_keras's test)."""
    return isinstance(value, list) and len(value) in (3, 4) and isinstance(value[0], str)


def _keras2_items(node: object, where: str) -> Iterator[list[Any]]:
    """Yield the items of a Keras 2 node: a list of items, one bare item (op layers) or nested."""
    if _is_item(node):
        assert isinstance(node, list)
        yield node
        return
    for index, item in enumerate(seq(node, where)):
        yield from _keras2_items(item, f"{where}[{index}]")


def _keras2_kwargs(items: list[list[Any]]) -> Mapping[str, Any]:
    """Return a Keras 2 call's keyword arguments: tf_keras copies them onto every item."""
    return next((i[3] for i in items if len(i) > 3 and isinstance(i[3], Mapping)), {})


def _holds_tensor(value: object) -> bool:
    """Return True for a keyword argument that is (or holds) tensors rather than an option."""
    if isinstance(value, list):
        return is_triple(value) or any(_holds_tensor(v) for v in value)
    if isinstance(value, Mapping):  # tf_keras: a slice's stop can be a tensor
        return value.get("class_name") == "__keras_tensor__" or any(
            _holds_tensor(v) for v in value.values())
    return False


def inbound(entry: Mapping[str, Any]) -> list[Any]:
    """Return a layer's inbound_nodes when they are a list (anything else is reported later)."""
    nodes = entry.get("inbound_nodes")
    return nodes if isinstance(nodes, list) else []


def refs(value: object, where: str) -> Iterator[TensorRef]:
    """Read ``input_layers``/``output_layers``: one [name, node, tensor] triple or a list of them."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        yield ref(value, where)
        return
    for index, item in enumerate(seq(value, where)):
        yield from refs(item, f"{where}[{index}]")


def ref(triple: object, where: str) -> TensorRef:
    """Read a [layer, node_index, tensor_index] triple."""
    items = seq(triple, where)
    if len(items) < 3 or not isinstance(items[0], str) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in items[1:3]):
        raise LoadError(f"{where}: {triple!r} is not [layer, node_index, tensor_index]")
    return TensorRef(layer=items[0], call=items[1], tensor=items[2])


Tensor = tuple[str, TensorRef, "Shape | None"]


def node_tensors(node: object, where: str) -> list[Tensor]:
    """Return (arg, source, declared shape) for each tensor in one inbound node, in order."""
    if isinstance(node, Mapping):
        found = list(_keras3_tensors(node.get("args", []), "inputs", f"{where}.args"))
        for key, value in obj(node.get("kwargs", {}), f"{where}.kwargs").items():
            found += list(_keras3_tensors(value, str(key), f"{where}.kwargs.{key}"))
        return found
    # Keras 2: [[layer, node, tensor, kwargs], ...]; initial_state is folded into this list,
    # other tensors passed by keyword (MultiHeadAttention's value, a TF op's y) sit in the
    # kwargs, which tf_keras copies onto every item. An op layer's node keeps the structure of
    # its first argument: one bare item, or items nested in lists, constants among them.
    items = list(_keras2_items(node, where))
    tensors: list[Tensor] = []
    for index, item in enumerate(items):
        if item[0] != CONSTANT_VALUE:
            tensors.append(("inputs", ref(item, f"{where}[{index}]"), None))
    for key, value in _keras2_kwargs(items).items():
        tensors += [(str(key), ref, None) for ref in _keras2_refs(value, f"{where}[0][3].{key}")]
    return tensors


def _keras2_refs(value: object, where: str) -> Iterator[TensorRef]:
    """Yield the [layer, node, tensor] triples in a Keras 2 call keyword, however nested.

    tf_keras reads every such triple as a tensor, in lists and dicts alike (a slice_spec's
    {"stop": ["n", 0, 0]} for ``x[:, :n]``).
    """
    if is_triple(value):
        yield ref(value, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _keras2_refs(item, f"{where}[{index}]")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _keras2_refs(item, f"{where}.{key}")


def is_triple(value: object) -> bool:
    """Return True for a [str, int, int] tensor reference."""
    return (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value[1:]))


def _keras3_tensors(value: object, arg: str, where: str) -> Iterator[Tensor]:
    """Yield every ``__keras_tensor__`` nested in a Keras 3 call argument."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _keras3_tensors(item, arg, f"{where}[{index}]")
    elif isinstance(value, Mapping) and value.get("class_name") == "__keras_tensor__":
        tensor = obj(value.get("config"), f"{where}.config")
        declared = shape_of(tensor["shape"], f"{where}.config.shape") if "shape" in tensor else None
        yield arg, ref(tensor.get("keras_history"), f"{where}.config.keras_history"), declared
