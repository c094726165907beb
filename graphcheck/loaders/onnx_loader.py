"""ONNX models: the protobuf graph, with shapes from onnx's own inference; weights by dims only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from graphcheck.findings import LoadError, Problem
from graphcheck.graph import Model, ModelGraph
from graphcheck.limits import current as current_limits
from graphcheck.loaders import onnx_wire, sniff_bytes
from graphcheck.rule_names import RuleName

# ModelProto fields a file can start with (ir_version, producer, graph, opset_import, ...).
MODEL_FIELDS = frozenset(range(1, 21))
WIRE_TYPES = frozenset({0, 1, 2, 5})


def looks_like_protobuf(head: bytes) -> bool:
    """Return True when the first byte is a plausible ModelProto field tag."""
    if not head:
        return False
    tag = head[0]
    return tag >> 3 in MODEL_FIELDS and tag & 7 in WIRE_TYPES


class OnnxLoader:
    """Loads ``.onnx`` files without reading external weight data."""

    name = "onnx"
    priority = 500
    suffixes = frozenset({".onnx"})

    def finds(self, path: Path, head: bytes | None) -> bool | None:
        """Check ``.onnx`` files, and files whose first bytes look like a ModelProto."""
        if head is None:
            return True if path.suffix.lower() in self.suffixes else None
        return True if sniff_bytes(head).kind == "onnx" else None

    def sniff(self, path: Path, head: bytes) -> bool:
        """Accept a ``.onnx`` file whose first bytes are not another format's and look like protobuf."""
        if path.is_dir() or path.suffix.lower() != ".onnx":
            return False
        return sniff_bytes(head).kind in ("onnx", "unknown") and looks_like_protobuf(head)

    def load(self, path: Path) -> Model:
        """Parse the protobuf without its weight values (external data stays unopened); build the graph."""
        proto = read_proto(path)
        decode_names(proto)
        return model_from_proto(proto, str(path))


def read_proto(path: Path) -> Any:
    """Return the file's ModelProto, large tensors' values left in the file, within the limits."""
    from onnx import ModelProto

    limit = current_limits().max_onnx_bytes
    try:
        check_limits(path)
        return ModelProto.FromString(onnx_wire.without_tensor_data(path, limit))
    except LoadError:
        raise
    except onnx_wire.OverLimit as error:
        raise LoadError(str(error)) from None
    except onnx_wire.TooLarge:
        raise LoadError(f"{path.name} holds over {limit} bytes besides its tensors' values, over "
                        "the limit (max_onnx_bytes)") from None
    except OSError as error:
        raise LoadError(f"{path.name} cannot be read: {error}") from None
    except Exception as error:  # onnx_wire.Unreadable, protobuf's DecodeError
        raise LoadError(f"not a readable ONNX protobuf: {type(error).__name__}: {error}") from None


def check_limits(path: Path) -> None:
    """Refuse a file over max_nodes by a wire count, before anything is copied or parsed."""
    limits = current_limits()
    # Counting on past the limit names the real size; the cap keeps a hostile file's cost bounded.
    cap = 10 * limits.max_nodes
    count = onnx_wire.count_nodes(path, cap)
    if count > limits.max_nodes:
        amount = f"more than {cap}" if count > cap else str(count)
        raise LoadError(f"the graph has {amount} nodes (Loop/Scan/If bodies and functions included), "
                        f"over the limit of {limits.max_nodes} (max_nodes)")


def decode_names(message: Any) -> None:
    """Replace strings that are not UTF-8 (protobuf returns them as bytes) by their escaped text, in place."""
    for descriptor, value in message.ListFields():
        if descriptor.type == descriptor.TYPE_MESSAGE:
            for item in value if descriptor.is_repeated else [value]:
                decode_names(item)
        elif descriptor.type == descriptor.TYPE_STRING and descriptor.is_repeated:
            for index, item in enumerate(value):
                if isinstance(item, bytes):
                    value[index] = _escaped(item)
        elif descriptor.type == descriptor.TYPE_STRING and isinstance(value, bytes):
            setattr(message, descriptor.name, _escaped(value))


def _escaped(raw: bytes) -> str:
    r"""Return bytes as text, invalid UTF-8 as ``\xff`` escapes: distinct names stay distinct."""
    return raw.decode("utf-8", "backslashreplace")


def model_from_proto(proto: Any, path: str) -> Model:
    """Build a Model from a ModelProto (also used for rule cases built with onnx.helper)."""
    # Here, not at the top: every run loads the loaders, and a Keras run builds no ONNX graph.
    from graphcheck.loaders.onnx_graph import GraphBuilder, Names, Scope, all_graphs, tensor_shapes

    inferred, error = infer(proto)
    shapes = tensor_shapes(all_graphs(inferred.graph))
    # Only the inferred shapes are needed, and the inferred copy is as large as the model: the
    # graph is built from the file's own nodes (inference adds value_info, never nodes).
    del inferred
    opset = next((int(i.version) for i in proto.opset_import if i.domain in ("", "ai.onnx")), None)
    # The subgraphs listed once: each walk visits every node's attributes.
    graphs = list(all_graphs(proto.graph))
    scope = Scope(shapes=shapes, declared=tensor_shapes(graphs), opset=opset)
    graph = GraphBuilder(scope)
    root = graph.build(proto.graph, prefix="", outer=Names())
    graph.finish()
    problems = list(scope.problems)
    if error is not None:
        graph.distrust(_failing_node(error, root))
        problems.append(Problem(rule=RuleName.ONNX_INFERENCE_ERROR, node=_failing_node(error, root),
                                message=f"onnx.shape_inference (strict) fails: {error}"))
    metadata = {
        "ir_version": proto.ir_version, "producer": f"{proto.producer_name} {proto.producer_version}".strip(),
        "opsets": {imp.domain or "ai.onnx": imp.version for imp in proto.opset_import},
        "domains": sorted({n.domain or "ai.onnx" for sub in graphs for n in sub.node}),
        "external_data": sorted({_location(t) for sub in graphs for t in sub.initializer} - {""}),
    }
    return Model(path=path, format="onnx", framework="onnx", root=root, metadata=metadata,
                 problems=tuple(problems))


def infer(proto: Any) -> tuple[Any, str | None]:
    """Run onnx's shape inference; a strict failure is kept as a message, the lenient run's shapes used."""
    from onnx import shape_inference

    try:
        return shape_inference.infer_shapes(proto, strict_mode=True, data_prop=True), None
    except Exception as error:  # onnx raises InferenceError, ValidationError or RuntimeError
        message = " ".join(str(error).split())
    try:
        return shape_inference.infer_shapes(proto, strict_mode=False, data_prop=True), message
    except Exception:
        return proto, message


def _failing_node(message: str, root: ModelGraph) -> str | None:
    """Return the node onnx's inference error names ("node name: lstm"), when it is in the graph."""
    found = re.search(r"node name: ([^)]+)\)", message)
    return found.group(1) if found and found.group(1) in root.graph else None


def _location(tensor: Any) -> str:
    """Return the external-data file an initializer names (never opened), or ""."""
    from onnx import TensorProto

    if tensor.data_location != TensorProto.EXTERNAL:
        return ""
    return next((e.value for e in tensor.external_data if e.key == "location"), "")


LOADER = OnnxLoader()
