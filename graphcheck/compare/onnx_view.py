"""The candidate ONNX graph as ``diff`` walks it: producers, consumers, attributes, owners."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graphcheck.recurrent_facts import Kind, onnx_kind

# Ops that carry a sequence through unchanged in meaning (a layout change, a copy, a cast).
PASSING = frozenset({"Transpose", "Identity", "Cast", "Squeeze", "Unsqueeze", "Reshape"})
LOWERED = frozenset({"Loop", "Scan"})
# How far up a recurrent op's input the walk looks for a node that carries the layer's name.
NAME_DEPTH = 4


def attributes(node: Any) -> dict[str, Any]:
    """Return a node's attributes as Python values (strings decoded)."""
    from onnx import helper

    values: dict[str, Any] = {}
    for attribute in node.attribute:
        value = helper.get_attribute_value(attribute)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif isinstance(value, list) and value and isinstance(value[0], bytes):
            value = [v.decode("utf-8", "replace") for v in value]
        values[attribute.name] = value
    return values


@dataclass(frozen=True, kw_only=True)
class OnnxRecurrent:
    """One LSTM/GRU/RNN node: its kind, attributes and whether its input was time-reversed."""

    node: Any
    kind: Kind
    attrs: Mapping[str, Any]
    reversed_input: str | None  # the ReverseSequence node feeding X, if any

    @property
    def name(self) -> str:
        """Return the node's name."""
        return str(self.node.name)

    @property
    def direction(self) -> str:
        """Return the ``direction`` attribute (``forward`` when absent)."""
        return str(self.attrs.get("direction", "forward"))

    def input(self, slot: int) -> str:
        """Return the name of input ``slot`` ("" when absent)."""
        return str(self.node.input[slot]) if len(self.node.input) > slot else ""


@dataclass(frozen=True, kw_only=True)
class LayerNames:
    """The reference's layer names, and how the exporter wrote them into node names.

    tf2onnx keeps tf_keras's name scopes as they are (``model/lstm/...``). Keras 3 traces the
    model first, and TensorFlow makes every scope unique with a suffix (``model_1/lstm_1/...``
    for layer ``lstm``, ``lstm_1_1`` for layer ``lstm_1``): ``traced`` strips one suffix.
    """

    names: frozenset[str]
    traced: bool

    def layer(self, part: str) -> str | None:
        """Return the layer one name-scope part names, if any."""
        name = re.sub(r"_\d+$", "", part) if self.traced else part
        return name if name in self.names else None


def layer_names(proto: Any, model_name: str, layers: Iterable[str]) -> LayerNames:
    """Return the layer names, with ``traced`` set when the scopes carry Keras 3's suffix."""
    firsts = {str(node.name).split("/", 1)[0] for node in proto.graph.node if "/" in node.name}
    traced = model_name not in firsts and any(
        re.fullmatch(re.escape(model_name) + r"_\d+", first) for first in firsts)
    return LayerNames(names=frozenset(layers), traced=traced)


class OnnxView:
    """Top-level nodes of the candidate graph with producer and consumer look-ups."""

    def __init__(self, proto: Any) -> None:
        """Index the top-level graph (subgraphs of Loop and Scan stay inside their node)."""
        self.nodes = list(proto.graph.node)
        self.producer = {out: node for node in self.nodes for out in node.output if out}
        self.consumers: dict[str, list[Any]] = {}
        for node in self.nodes:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.outputs = [o.name for o in proto.graph.output]
        self.name = str(proto.graph.name)

    def recurrent(self) -> list[OnnxRecurrent]:
        """Return the LSTM/GRU/RNN nodes in graph order."""
        found = []
        for node in self.nodes:
            kind = onnx_kind(node.op_type)
            if kind is not None and node.domain in ("", "ai.onnx"):
                found.append(OnnxRecurrent(node=node, kind=kind, attrs=attributes(node),
                                           reversed_input=self.reversal(node.input[0])))
        return found

    def lowered(self) -> list[Any]:
        """Return the Loop and Scan nodes (a recurrent layer may have been lowered into one)."""
        return [n for n in self.nodes if n.op_type in LOWERED]

    def reversal(self, tensor: str) -> str | None:
        """Return the ReverseSequence that ``tensor`` comes from through layout ops, if any."""
        node = self.producer.get(tensor)
        while node is not None and node.op_type in PASSING:
            node = self.producer.get(node.input[0]) if node.input else None
        return str(node.name) if node is not None and node.op_type == "ReverseSequence" else None

    def readers(self, tensor: str) -> list[Any]:
        """Return the nodes that read ``tensor``, looking through layout ops."""
        frontier, found = list(self.consumers.get(tensor, [])), []
        while frontier:
            node = frontier.pop()
            if node.op_type in PASSING:
                frontier += [c for out in node.output for c in self.consumers.get(out, [])]
            else:
                found.append(node)
        return found

    def named_after(self, layer: str, layers: LayerNames) -> list[Any]:
        """Return the top-level nodes whose own names carry ``layer``'s name scope."""
        return [n for n in self.nodes if layer in (layers.layer(p) for p in str(n.name).split("/"))]

    def used(self, tensor: str) -> bool:
        """Return True when a node or the graph's outputs read ``tensor``."""
        return bool(tensor) and (tensor in self.consumers or tensor in self.outputs)

    def owner(self, node: Any, layers: LayerNames) -> str | None:
        """Return the Keras layer a node's name, or its inputs' names nearby, say it belongs to.

        tf2onnx and Keras's exporter name nodes after TensorFlow's name scopes
        (``model/lstm/transpose``) but call the recurrent op itself ``LSTM__30``: so the walk
        looks at the node, then up its first input for a few layout ops.
        """
        current, depth = node, 0
        while current is not None and depth <= NAME_DEPTH:
            found = [name for part in str(current.name).split("/") if (name := layers.layer(part))]
            if found:
                return found[-1]
            current = self.producer.get(current.input[0]) if current.input else None
            depth += 1
        return None
