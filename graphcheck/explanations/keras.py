"""Explain Keras recurrent layers: units, timesteps, weights and parameters, with cells."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from graphcheck import recurrent_facts as facts
from graphcheck.explanations import Explained, register
from graphcheck.explanations.report import Cell
from graphcheck.explanations.views import NodeView, plural, steps_words
from graphcheck.graph import Dim, Shape, format_shape
from graphcheck.shapes import WeightSpec
from graphcheck.shapes.dims import product

# The layer classes explained: those running a cell (CuDNN and ConvLSTM layers run an LSTM's
# or a GRU's gates), not the cells themselves.
BASE_KIND = {name: kind for name, kind in facts.KERAS_CLASSES.items() if not name.endswith("Cell")}
CONV = facts.CONV_CLASSES
GPU_ONLY = ("  {kind} runs only on a GPU: it calls NVIDIA cuDNN directly and has no CPU kernel "
            "(on a CPU, predict fails with \"No OpKernel was registered to support Op "
            "'CudnnRNN...'\"). Only tf.keras 1.x/2.x and Keras 2 know the class; Keras 3 cannot "
            "load it. Its activations are fixed (tanh, sigmoid gates); it has no dropout and no "
            "masking.")


@dataclass(frozen=True, kw_only=True)
class Part:
    """One recurrent layer to explain: the layer itself, or one direction of a Bidirectional."""

    label: str | None  # "forward"/"backward" inside a Bidirectional
    kind: str
    config: Mapping[str, Any]
    specs: tuple[WeightSpec, ...]

    @property
    def implied(self) -> int | None:
        """Return the parameters the config implies; None when a size is unknown."""
        sizes = [product(s.shape) for s in self.specs]
        return sum(sizes) if all(isinstance(n, int) for n in sizes) else None  # type: ignore[arg-type]


def parts(view: NodeView) -> list[Part]:
    """Return the recurrent layers a node holds: itself, or both directions of a Bidirectional."""
    layer = view.node.layer
    if layer.type != "Bidirectional":
        found = [Part(label=None, kind=layer.type, config=layer.config, specs=view.specs)]
    else:
        forward = layer.config.get("layer")
        backward = layer.config.get("backward_layer") or forward
        found = [Part(label=label, kind=str(entry.get("class_name")), config=entry["config"],
                      specs=tuple(s for s in view.specs if s.name.startswith(label + "/")))
                 for label, entry in (("forward", forward), ("backward", backward))
                 if isinstance(entry, Mapping) and isinstance(entry.get("config"), Mapping)]
    return found if found and all(p.kind in BASE_KIND for p in found) else []


def _mirrored(found: list[Part]) -> bool:
    """Return True when both directions are the same layer (only names and direction differ)."""
    def core(part: Part) -> tuple[str, dict[str, Any]]:
        """Return the part's class and config without name and direction."""
        return part.kind, {k: v for k, v in part.config.items() if k not in ("name", "go_backwards")}

    return len(found) == 2 and core(found[0]) == core(found[1])


def story(view: NodeView) -> list[str]:
    """Explain a Keras recurrent layer (or ConvLSTM, CuDNN, Bidirectional); [] for other layers."""
    found = parts(view)
    call = view.node.calls[0] if view.node.calls else None
    shape = call.inputs[0] if call is not None and call.inputs else None
    if not found:
        return []
    if shape is None or len(shape) != _rank(found[0].kind):
        return _unknown_input(view, found)
    layer = view.node.layer
    lines = [f"{view.name}: {layer.type}" + _wrapped(layer.type, found)]
    given = f"  input {format_shape(shape)}: {_input_words(found[0], shape)}."
    if len(found) == 1 or _mirrored(found):
        units, *rest = _part_lines(found[0], shape, "  ", per_direction=len(found) == 2)
        lines += [units, given, *rest]  # units first: the question is what units means
        lines += ["  backward/* weights: the same shapes."] if len(found) == 2 else []
    else:
        lines.append(given)
        for part in found:
            lines += [f"  {part.label}: {part.kind}", *_part_lines(part, shape, "    ")]
        counts = [p.implied for p in found]
        if all(isinstance(c, int) for c in counts):
            lines.append(f"  parameters = forward {counts[0]:,} + backward {counts[1]:,} = "
                         f"{sum(c or 0 for c in counts):,}.")
    lines += _stored_lines(view, found)
    return lines + output_lines(view, found[0].config)


def _unknown_input(view: NodeView, found: list[Part]) -> list[str]:
    """Explain a layer whose input shape is unknown from what the file stores; [] if nothing."""
    if not view.node.layer.weights or view.params is None:
        return []
    size = "filters" if found[0].kind in CONV else "units"
    return [f"{view.name}: {view.node.layer.type}" + _wrapped(view.node.layer.type, found),
            f"  {size} = {found[0].config.get(size)}: the size of the hidden state, not the number "
            "of timesteps.",
            "  input unknown (a layer before it has no shape function), so the weights shown are "
            "the file's:",
            *[f"    {name:<26} {format_shape(shape)}" for name, shape in view.weights.items()],
            f"  parameters (stored) = {view.params:,}; they do not depend on the number of "
            "timesteps."]


def _rank(kind: str) -> int:
    """Return the input rank a layer class takes: 3 for RNNs, 3 + spatial rank for ConvLSTM."""
    return int(kind[-2]) + 3 if kind in CONV else 3


def _wrapped(wrapper: str, found: list[Part]) -> str:
    """Name what a Bidirectional wraps: ``(LSTM)`` or ``(forward LSTM, backward GRU)``."""
    if wrapper != "Bidirectional":
        return ""
    if _mirrored(found) or len(found) == 1:
        return f"({found[0].kind})"
    return "(" + ", ".join(f"{p.label} {p.kind}" for p in found) + ")"


def _input_words(part: Part, shape: Shape) -> str:
    """Describe the input's axes: batch, timesteps, then features (or a grid of channels)."""
    time_major = bool(part.config.get("time_major"))
    steps = shape[0] if time_major else shape[1]
    order = "timesteps first (time_major=True), then batch" if time_major else "batch"
    if part.kind not in CONV:
        return f"{order}, {steps_words(steps)}, {plural(shape[2], 'feature')} per step"
    first = part.config.get("data_format") == "channels_first"
    grid, channels = (shape[3:], shape[2]) if first else (shape[2:-1], shape[-1])
    frame = f"a row of {grid[0]} positions" if len(grid) == 1 else f"a {format_shape(grid)} grid"
    return f"{order}, {steps_words(steps)}, each {frame} with {plural(channels, 'channel')}"


def _part_lines(part: Part, shape: Shape, pad: str, per_direction: bool = False) -> list[str]:
    """Explain units, the cell, the weights and the parameter arithmetic of one layer."""
    steps = shape[0] if part.config.get("time_major") else shape[1]
    over = f"all {steps} timesteps" if isinstance(steps, int) and steps != 1 else (
        "its single timestep" if steps == 1 else
        "every timestep, however many there are (a variable number of timesteps)")
    base = BASE_KIND[part.kind]
    if part.kind in CONV:
        lines = [f"{pad}filters = {part.config.get('filters')}: plays the role of units: the "
                 "number of channels of the hidden state at every grid position, i.e. how many "
                 "values per position the layer outputs per step. It is not the number of "
                 "timesteps.",
                 f"{pad}The same convolutional cell (with {base.gate_phrase}, each a convolution "
                 f"over the grid) runs over {over}."]
    else:
        lines = [f"{pad}units = {part.config.get('units')}: the size of the hidden state, i.e. "
                 "how many values the layer outputs per step. It is not the number of timesteps.",
                 f"{pad}The same cell (with {base.gate_phrase}) runs over {over}."]
    if part.kind.startswith("CuDNN"):
        lines.append(pad[:-2] + GPU_ONLY.format(kind=part.kind))
    lines.append(f"{pad}weights:")
    lines += [f"{pad}  {s.name:<26} {format_shape(s.shape):<14} {s.formula}" for s in part.specs]
    formula, numbers = param_formula(part, shape)
    total = part.implied
    tail = (f" per direction, x2 for Bidirectional = {2 * total:,}" if per_direction and total
            else " per direction, x2 for Bidirectional" if per_direction else "")
    lines.append(f"{pad}parameters = {formula} = {numbers}{tail}; it does not depend on the "
                 "number of timesteps.")
    return lines


def _biases(part: Part, gates: int) -> int:
    """Return how many bias vectors per gate block the layer holds, read from its bias spec.

    CuDNN layers and GRU(reset_after=True) hold two (input and recurrent), others one.
    """
    width = part.config.get("units", part.config.get("filters"))
    bias = [s for s in part.specs if s.name.endswith("bias")]
    size = product(bias[0].shape) if bias else 0
    if not (isinstance(size, int) and isinstance(width, int)) or width == 0:  # units=0: no blocks
        return 0
    return size // (gates * width)


def param_formula(part: Part, shape: Shape | None) -> tuple[str, str]:
    """Return the parameter formula and the same with the layer's numbers substituted."""
    gates = BASE_KIND[part.kind].gates
    biases = _biases(part, gates)
    plus = f" + {biases}" if biases else ""
    times = f"{gates}*" if gates > 1 else ""
    if part.kind in CONV:
        return _conv_formula(part, shape, plus)
    units, features = part.config.get("units"), features_of(part, shape)
    formula = f"{times}units*(features + units{plus})"
    if not isinstance(units, int) or not isinstance(features, int):
        return formula, "unknown (input features unknown)"
    value = gates * units * (features + units + biases)
    return formula, f"{times}{units}*({features} + {units}{plus}) = {value:,}"


def features_of(part: Part, shape: Shape | None) -> Dim:
    """Return the features per step (a ConvLSTM's channels); None when the input is unknown."""
    if shape is None:
        return None
    first = part.kind in CONV and part.config.get("data_format") == "channels_first"
    return shape[2] if first else shape[-1]


def _conv_formula(part: Part, shape: Shape | None, plus: str) -> tuple[str, str]:
    """Return ConvLSTM's formula: each gate is a convolution over input and hidden channels."""
    filters = part.config.get("filters")
    kernel = part.specs[0].shape[:-2] if part.specs else ()
    positions = product(kernel)
    channels = features_of(part, shape)
    k = "*".join(str(d) for d in kernel) + (f" = {positions}" if len(kernel) > 1 else "")
    formula = f"4*filters*(k*channels + k*filters{plus})"
    if not (isinstance(filters, int) and isinstance(positions, int) and isinstance(channels, int)):
        return formula, "unknown (input channels unknown)"
    value = 4 * filters * (positions * channels + positions * filters + (1 if plus else 0))
    return formula, (f"4*{filters}*({positions}*{channels} + {positions}*{filters}{plus}) = "
                     f"{value:,}, where k = {k} kernel positions")


def _stored_lines(view: NodeView, found: list[Part]) -> list[str]:
    """Show stored weights beside the implied ones where they differ; say which count is used."""
    if not view.node.layer.weights:
        return []
    specs = [s for p in found for s in p.specs]
    lines = [f"    {s.name:<26} implied {format_shape(s.shape)}, stored "
             f"{format_shape(view.weights[s.name]) if s.name in view.weights else '(nothing)'}"
             for s in specs if view.weights.get(s.name) != s.shape]
    names = {s.name for s in specs}
    lines += [f"    {name:<26} stored {format_shape(shape)}, not implied by the config"
              for name, shape in view.weights.items() if name not in names]
    implied = [p.implied for p in found]
    if not lines:
        return []
    total = sum(i or 0 for i in implied) if all(isinstance(i, int) for i in implied) else None
    stored = "?" if view.params is None else f"{view.params:,}"
    return ["  the file's weights differ from what the config implies:", *lines,
            f"  The table counts the stored weights ({stored} parameters), as Keras counts the "
            "weights it holds; the config implies "
            + ("an unknown number" if total is None else f"{total:,}") + "."]


def output_lines(view: NodeView, config: Mapping[str, Any]) -> list[str]:
    """Say what the layer outputs and why (return_sequences, states, merge mode)."""
    outputs = view.output_shapes
    why = ("return_sequences=True: one output per timestep" if config.get("return_sequences")
           else "return_sequences=False: only the last step's output")
    separate = (view.node.layer.type == "Bidirectional"
                and view.node.layer.config.get("merge_mode", "concat") is None)
    count = 2 if separate else 1  # merge_mode=None returns forward and backward apart
    shown = ", ".join(format_shape(s) for s in outputs[:count]) if outputs else format_shape(None)
    lines = [f"  output {shown}: {why}."]
    if view.node.layer.type == "Bidirectional":
        lines.append(_merge_line(view))
    if config.get("return_state"):
        states = ", ".join(format_shape(s) for s in outputs[count:])
        lines.append(f"  return_state=True: the final states follow: {states}.")
    return lines


def _merge_line(view: NodeView) -> str:
    """Say how a Bidirectional combines its directions, with the widths for concat."""
    mode = view.node.layer.config.get("merge_mode", "concat")
    widths = [p.config.get("units", p.config.get("filters")) for p in parts(view)]
    total = f" = {sum(widths)}" if all(isinstance(w, int) for w in widths) else ""
    return f"  merge_mode={mode!r}: " + {
        "concat": f"forward and backward outputs side by side (widths add up: "
                  f"{' + '.join(map(str, widths))}{total})",
        "sum": "forward + backward", "mul": "forward * backward",
        "ave": "the mean of both directions"}.get(str(mode), "two separate outputs") + "."


@register("keras", *BASE_KIND, "Bidirectional")
def explain(view: NodeView) -> Explained:
    """Explain a Keras recurrent layer: its story, and a cell per direction."""
    found = parts(view)
    if not found:
        return Explained()
    mode = view.node.layer.config.get("merge_mode", "concat") if view.type == "Bidirectional" else None
    return Explained(story=tuple(story(view)), cells=tuple(cells(view, found)),
                     merge_mode=mode if isinstance(mode, str) else None)


def cells(view: NodeView, found: list[Part]) -> list[Cell]:
    """Return the numbers of each direction's cell, for diagrams."""
    call = view.node.calls[0] if view.node.calls else None
    shape = call.inputs[0] if call is not None and call.inputs else None
    if shape is not None and len(shape) != _rank(found[0].kind):
        shape = None
    stored = list(view.weights.values())
    share = len(stored) // len(found)
    return [_cell(part, shape, stored[i * share:(i + 1) * share], _reverse(view, part))
            for i, part in enumerate(found)]


def _cell(part: Part, shape: Shape | None, stored: list[Shape], reverse: bool) -> Cell:
    """Return one direction's cell; weights the config cannot imply are the file's, in order."""
    kind = BASE_KIND[part.kind]
    if not part.specs:  # the input is unknown: Keras stores kernel, recurrent kernel, bias
        part = replace(part, specs=tuple(WeightSpec(name=name, path=name, shape=shape)
                                         for name, shape in zip(facts.KERAS_WEIGHTS, stored)))
    by_name = {s.name.rsplit("/", 1)[-1]: s.shape for s in part.specs}
    time_major = bool(part.config.get("time_major"))
    formula, numbers = param_formula(part, shape)
    return Cell(kind=kind.keras, layer_class=part.kind, label=part.label,
                units=_dim(part.config.get("filters" if part.kind in CONV else "units")),
                features=features_of(part, shape),
                timesteps=None if shape is None else shape[0 if time_major else 1],
                gates=tuple(g.name for g in kind.keras_gates),
                kernel=by_name.get("kernel", ()), recurrent_kernel=by_name.get("recurrent_kernel", ()),
                bias=by_name.get("bias"), return_sequences=bool(part.config.get("return_sequences")),
                return_state=bool(part.config.get("return_state")), reverse=reverse,
                params=part.implied if part.specs else None, formula=formula, numbers=numbers)


def _reverse(view: NodeView, part: Part) -> bool:
    """Return True when the direction runs last step first; Bidirectional flips a copied layer."""
    backwards = bool(part.config.get("go_backwards"))
    copied = part.label == "backward" and not view.node.layer.config.get("backward_layer")
    return not backwards if copied else backwards


def _dim(value: object) -> Dim:
    """Return a config size as a dimension, None when the file holds something else."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
