"""Shape functions for einsum projections: EinsumDense and GroupedQueryAttention."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphcheck.findings import ShapeError
from graphcheck.graph import Dim, Shape, format_shape
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call, LayerShapes, WeightSpec, register
from graphcheck.shapes.dims import positive_int
from graphcheck.shapes.keras.attention import query_value_key

# The three equation forms Keras's _analyze_einsum_string accepts ("0" stands for "...").
FORMS = (("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", False),
         ("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", True),
         ("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", False))


@dataclass(frozen=True, kw_only=True)
class Einsum:
    """What an EinsumDense equation implies for one input shape."""

    kernel: tuple[Dim, ...]
    bias: tuple[Dim, ...] | None
    output: Shape


def _partial(raw: object) -> list[Dim]:
    """Return EinsumDense's output_shape (an int or a list with None) as a list."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return [raw]
    if isinstance(raw, list) and all(d is None or isinstance(d, int) for d in raw):
        return list(raw)
    raise ShapeError(RuleName.UNREADABLE_MODEL, f"is {raw!r}, not an int or a list of ints",
                     field="config.output_shape")


def analyze(equation: object, bias_axes: object, shape: Shape, partial: object) -> Einsum:
    """Mirror keras' ``_analyze_einsum_string``: kernel, bias and full output shapes."""
    text = re.sub(r"\.\.\.", "0", str(equation))
    for pattern, left in FORMS:
        found = re.fullmatch(pattern, text)
        if found:
            return _analyze_split(found.groups(), bias_axes, shape, _partial(partial), left)
    raise ShapeError(RuleName.UNREADABLE_MODEL, f"equation {equation!r} is not of the form [X],[Y]->[Z], "
                     "...[X],[Y]->...[Z] or [X]...,[Y]->[Z]...")


def _analyze_split(specs: tuple[str, ...], bias_axes: object, shape: Shape, output: list[Dim],
                   left: bool) -> Einsum:
    """Resolve the output shape and weight shapes of one parsed equation, as Keras does."""
    inputs, weights, outputs = specs
    elided = len(shape) - len(inputs)
    output.insert(0, shape[0])
    if elided > 0 and left:
        for i in range(1, elided):
            output.insert(1, shape[i])
    elif elided > 0:
        output.extend(shape[len(shape) - elided:])
    in_map = {d: (i + elided) - len(shape) if left else i for i, d in enumerate(inputs)}
    out_map = {d: i + elided if left else i for i, d in enumerate(outputs)}
    _check_shared(inputs, shape, output, in_map, out_map)
    for dim in inputs:  # einsum keeps a shared axis's size: what tf_keras and a real call report
        if dim in out_map and output[out_map[dim]] is None:
            output[out_map[dim]] = shape[in_map[dim]]
    kernel: list[Dim] = []
    for dim in weights:
        if dim in out_map:
            kernel.append(_at(output, out_map[dim], dim))
        elif dim in in_map:
            kernel.append(shape[in_map[dim]])
        else:
            raise ShapeError(RuleName.UNREADABLE_MODEL, f"weight axis {dim!r} of the equation is in neither "
                             f"the input spec {inputs!r} nor the output spec {outputs!r}")
    bias = _bias(bias_axes, outputs, output, elided if left else 0, 0 if left else elided)
    return Einsum(kernel=tuple(kernel), bias=bias, output=tuple(output))


def _at(shape: list[Dim], index: int, dim: str) -> Dim:
    """Return ``shape[index]``, or a finding when output_shape is too short for the equation."""
    if not -len(shape) <= index < len(shape):
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH, f"output_shape has no entry for axis {dim!r}")
    return shape[index]


def _check_shared(inputs: str, shape: Shape, output: list[Dim], in_map: Mapping[str, int],
                  out_map: Mapping[str, int]) -> None:
    """Raise when an axis in both input and output changes size (Keras raises too)."""
    if len(shape) < len(inputs):
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH, f"the equation names {len(inputs)} input axes "
                         f"({inputs!r}), but the input is {format_shape(shape)}")
    for dim in inputs:
        if dim not in out_map:
            continue
        want, got = _at(output, out_map[dim], dim), shape[in_map[dim]]
        if want is not None and got is not None and want != got:
            raise ShapeError(RuleName.INPUT_DIM_MISMATCH, f"axis {dim!r} is {got} in the input "
                             f"{format_shape(shape)} but output_shape says {want}")


def _bias(bias_axes: object, outputs: str, output: list[Dim], left_elided: int,
          right_elided: int) -> tuple[Dim, ...] | None:
    """Return the bias shape: the bias axes' sizes, 1 on other axes after the first of them."""
    if not bias_axes:
        return None
    axes = str(bias_axes)
    if any(c not in outputs for c in axes):
        raise ShapeError(RuleName.UNREADABLE_MODEL, f"bias_axes {axes!r} names an axis not in the output "
                         f"spec {outputs!r}")
    sizes = {c: output[i + left_elided] for i, c in enumerate(outputs)}
    first = min(outputs.find(c) for c in axes)
    return (*(sizes[c] if c in axes else 1 for c in outputs[first:]), *(1,) * right_elided)


def einsum_specs(found: Einsum, equation: object, prefix: str = "", path: str = "") -> list[WeightSpec]:
    """Return the kernel (and bias) specs of one EinsumDense, stored as vars/0 and vars/1."""
    specs = [WeightSpec(name=prefix + "kernel", path=f"{path}vars/0", shape=found.kernel,
                        formula=f"the weight axes of {equation!r} = {format_shape(found.kernel)}")]
    if found.bias is not None:
        specs.append(WeightSpec(name=prefix + "bias", path=f"{path}vars/1", shape=found.bias,
                                formula=f"the bias_axes of the output = {format_shape(found.bias)}"))
    return specs


@register("keras", "EinsumDense")
def einsum_dense(call: Call) -> LayerShapes:
    """EinsumDense: the equation maps the input and a kernel to the output (Keras 3 and 2)."""
    shape = call.single()
    equation = call.config.get("equation")
    found = analyze(equation, call.config.get("bias_axes"), shape, call.config.get("output_shape"))
    return LayerShapes(outputs=(found.output,), weights=tuple(einsum_specs(found, equation)))


@dataclass(frozen=True, kw_only=True)
class _Projection:
    """One of GroupedQueryAttention's EinsumDense sublayers."""

    name: str
    equation: str
    partial: list[Dim]
    bias_axes: str


def _gqa_projections(config: Mapping[str, Any], feature: Dim) -> list[tuple[_Projection, str]]:
    """Return the sublayers Keras's GroupedQueryAttention.build creates, with which input feeds each."""
    heads, kv_heads = positive_int(config, "num_query_heads"), positive_int(config, "num_key_value_heads")
    head_dim = positive_int(config, "head_dim")
    bias = bool(config.get("use_bias", True))
    query = _Projection(name="query", equation="bqm,muh->bquh", partial=[None, heads, head_dim],
                        bias_axes="uh" if bias else "")
    key = _Projection(name="key", equation="bkm,mvh->bkvh", partial=[None, kv_heads, head_dim],
                      bias_axes="vh" if bias else "")
    found = [(query, "query"), (key, "key")]
    if config.get("use_gate"):
        found.append((_Projection(name="gate", equation=query.equation, partial=query.partial,
                                  bias_axes=query.bias_axes), "query"))
    found.append((_Projection(name="value", equation=key.equation, partial=key.partial,
                              bias_axes=key.bias_axes), "value"))
    found.append((_Projection(name="output", equation="bquh,uhm->bqm", partial=[None, feature],
                              bias_axes="m" if bias else ""), "heads"))
    return found


@register("keras", "GroupedQueryAttention", "GroupQueryAttention")
def grouped_query_attention(call: Call) -> LayerShapes:
    """GroupedQueryAttention: the query's shape out; query/key/value/output einsum projections."""
    query, value, key = query_value_key(call, ("query", "value", "key"))
    if query[-1] is not None and value[-1] is not None and query[-1] != value[-1]:
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH,
                         f"GroupedQueryAttention needs query {format_shape(query)} "
                         f"and value {format_shape(value)} to share their last dimension")
    if len(value) != len(key) or any(a is not None and b is not None and a != b
                                     for a, b in zip(value[1:-1], key[1:-1])):
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH,
                         f"GroupedQueryAttention needs value {format_shape(value)} "
                         f"and key {format_shape(key)} to agree on every axis but the last")
    heads = (None, None, positive_int(call.config, "num_query_heads"),
             positive_int(call.config, "head_dim"))
    feeds = {"query": query, "key": key, "value": value, "heads": heads}
    specs: list[WeightSpec] = []
    for part, feed in _gqa_projections(call.config, query[-1]):
        found = analyze(part.equation, part.bias_axes, feeds[feed], part.partial)
        specs += einsum_specs(found, part.equation, f"{part.name}/", f"{part.name}_dense/")
    outputs: list[Shape] = [query]
    if call.options.get("return_attention_scores", call.config.get("return_attention_scores")):
        outputs.append((query[0], heads[2], query[1], key[1]))
    return LayerShapes(outputs=tuple(outputs), weights=tuple(specs))
