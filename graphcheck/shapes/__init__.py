"""Shape propagation: one shape function per layer class or operator."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from graphcheck.findings import ShapeError
from graphcheck.graph import Dim, Layer, Shape
from graphcheck.registries import registrar
from graphcheck.rule_names import RuleName


@dataclass(frozen=True, kw_only=True)
class Call:
    """One call of a layer: the shapes it received, positional and by keyword."""

    layer: Layer
    inputs: tuple[Shape, ...]
    kwargs: Mapping[str, tuple[Shape, ...]] = field(default_factory=dict)
    options: Mapping[str, object] = field(default_factory=dict)

    @property
    def config(self) -> Mapping[str, object]:
        """Return the layer's config, for brevity in shape functions."""
        return self.layer.config

    def single(self) -> Shape:
        """Return the only positional input; shape functions of one-input layers use this."""
        if not self.inputs:  # a config whose inbound node passes no tensor: Keras cannot call it
            raise ShapeError(RuleName.UNREADABLE_MODEL,
                             "receives no input tensor (no inbound node passes one)")
        return self.inputs[0]


@dataclass(frozen=True, kw_only=True)
class WeightSpec:
    """A weight the config implies: its logical name, where Keras 3 stores it, and its shape."""

    name: str
    path: str
    shape: tuple[Dim, ...]
    formula: str = ""
    # The likely cause of a known wrong stored shape (e.g. Keras's 4H bias where ONNX wants 8H).
    hints: Mapping[tuple[int, ...], str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class LayerShapes:
    """What a shape function returns: output shapes and the weights the layer must hold."""

    outputs: tuple[Shape | None, ...]
    weights: tuple[WeightSpec, ...] = ()
    # Problems that do not stop the layer from producing shapes (reported on the layer).
    problems: tuple[ShapeError, ...] = ()


ShapeFn = Callable[[Call], LayerShapes]

# Filled by the modules under shapes/keras and shapes/onnx through ``register``.
SHAPE_FUNCTIONS: dict[tuple[str, str], ShapeFn] = {}


# ``@register(framework, *types)`` records a shape function for one or more layer classes / op types.
register = registrar(SHAPE_FUNCTIONS)
