"""Shape functions for attention layers: Attention, AdditiveAttention, MultiHeadAttention."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphcheck.findings import ShapeError
from graphcheck.graph import Dim, Shape, format_shape
from graphcheck.rule_names import RuleName
from graphcheck.shapes import Call, LayerShapes, WeightSpec, register
from graphcheck.shapes.dims import positive_int


def _flag(call: Call, name: str) -> bool:
    """Return a boolean call option, as the call passed it (Keras 3) or the config holds it."""
    return bool(call.options.get(name, call.config.get(name)))


def query_value_key(call: Call, names: tuple[str, str, str]) -> tuple[Shape, Shape, Shape]:
    """Return (query, value, key) shapes from positional inputs or keyword tensors."""
    found: list[Shape | None] = list(call.inputs[:3]) + [None] * (3 - len(call.inputs[:3]))
    for index, name in enumerate(names):
        if call.kwargs.get(name):
            found[index] = call.kwargs[name][0]
    query, value, key = found
    if query is None or value is None:
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH,
                         f"{call.layer.type} needs a query and a value tensor, got "
                         f"{len(call.inputs)} positional inputs")
    return query, value, value if key is None else key


@register("keras", "Attention", "AdditiveAttention")
def attention(call: Call) -> LayerShapes:
    """Luong/Bahdanau attention: (B, Tq, D) x (B, Tv, D) -> (B, Tq, Dv), scores (B, Tq, Tv)."""
    query, value, key = query_value_key(call, ("query", "value", "key"))
    if len(query) < 3 or len(value) < 3:
        raise ShapeError(RuleName.INPUT_RANK_MISMATCH,
                         f"{call.layer.type} expects (batch, steps, features) inputs, got "
                         f"{format_shape(query)} and {format_shape(value)}")
    q, k = query[-1], key[-1]
    if isinstance(q, int) and isinstance(k, int) and q != k:
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH,
                         f"{call.layer.type} scores query {format_shape(query)} against key "
                         f"{format_shape(key)}: their last dimensions ({q} and {k}) must be equal")
    outputs: list[Shape] = [(*query[:-1], value[-1])]
    if _flag(call, "return_attention_scores"):
        outputs.append((*query[:-1], key[-2]))
    return LayerShapes(outputs=tuple(outputs), weights=_attention_weights(call, q))


def _attention_weights(call: Call, dim: Dim) -> tuple[WeightSpec, ...]:
    """Return the scale (and concat score weight) specs the config asks for."""
    specs: list[WeightSpec] = []
    if call.config.get("use_scale"):
        additive = call.layer.type == "AdditiveAttention"
        shape: tuple[Dim, ...] = (dim,) if additive else ()
        specs.append(WeightSpec(name="scale", path="vars/0", shape=shape,
                                formula=f"(features,) = ({dim},)" if additive else "a scalar"))
    if call.config.get("score_mode") == "concat":
        specs.append(WeightSpec(name="concat_score_weight", path=f"vars/{len(specs)}", shape=(),
                                formula="a scalar"))
    return tuple(specs)


@dataclass(frozen=True, kw_only=True)
class Heads:
    """MultiHeadAttention's sizes from its config."""

    heads: int
    key_dim: int
    value_dim: int
    output: tuple[int, ...] | None

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> Heads:
        """Read num_heads, key_dim, value_dim (defaults to key_dim) and output_shape."""
        key_dim = positive_int(config, "key_dim")
        value_dim = config.get("value_dim") or key_dim
        raw = config.get("output_shape")
        output = (raw,) if isinstance(raw, int) else tuple(raw) if isinstance(raw, list) else None
        return cls(heads=positive_int(config, "num_heads"), key_dim=key_dim,
                   value_dim=positive_int({"value_dim": value_dim}, "value_dim"), output=output)


def _dense(name: str, features: Dim, heads: int, size: int, what: str,
           use_bias: bool) -> list[WeightSpec]:
    """Return one projection's kernel (features, heads, size) and bias (heads, size)."""
    specs = [WeightSpec(name=f"{name}/kernel", path=f"{name}_dense/vars/0",
                        shape=(features, heads, size),
                        formula=f"(features, num_heads, {what}) = ({features}, {heads}, {size})")]
    if use_bias:
        specs.append(WeightSpec(name=f"{name}/bias", path=f"{name}_dense/vars/1",
                                shape=(heads, size),
                                formula=f"(num_heads, {what}) = ({heads}, {size})"))
    return specs


def _mha_weights(sizes: Heads, query: Shape, value: Shape, key: Shape, config: Mapping[str, Any],
                 out: tuple[Dim, ...]) -> tuple[WeightSpec, ...]:
    """Return the query/key/(gate)/value/output projection specs, in Keras's creation order."""
    bias = bool(config.get("use_bias", True))
    h = sizes.heads
    specs = _dense("query", query[-1], h, sizes.key_dim, "key_dim", bias)
    specs += _dense("key", key[-1], h, sizes.key_dim, "key_dim", bias)
    if config.get("use_gate"):
        specs += _dense("gate", query[-1], h, sizes.value_dim, "value_dim", bias)
    specs += _dense("value", value[-1], h, sizes.value_dim, "value_dim", bias)
    specs.append(WeightSpec(name="output/kernel", path="output_dense/vars/0",
                            shape=(h, sizes.value_dim, *out),
                            formula=f"(num_heads, value_dim) + output_shape = ({h}, "
                                    f"{sizes.value_dim}) + {format_shape(out)}"))
    if bias:
        specs.append(WeightSpec(name="output/bias", path="output_dense/vars/1", shape=out,
                                formula=f"output_shape = {format_shape(out)}"))
    return tuple(specs)


def _score_shape(query: Shape, key: Shape, heads: int, raw_axes: object) -> Shape:
    """Return the attention scores' shape: non-attended axes, heads, query axes, key axes."""
    rank = len(query)
    listed = raw_axes if isinstance(raw_axes, list) else [raw_axes]
    axes = tuple(range(1, rank - 1)) if raw_axes is None else tuple(
        a % (rank - 1) for a in listed if isinstance(a, int))
    batch = [query[i] for i in range(rank - 1) if i not in axes]
    return (*batch, heads, *(query[a] for a in axes), *(key[a] for a in axes))


@register("keras", "MultiHeadAttention")
def multi_head_attention(call: Call) -> LayerShapes:
    """MultiHeadAttention: output is the query's shape with the last axis set by output_shape."""
    query, value, key = query_value_key(call, ("query", "value", "key"))
    if len(value) != len(key) or any(
            isinstance(a, int) and isinstance(b, int) and a != b
            for a, b in zip(value[1:-1], key[1:-1])):
        raise ShapeError(RuleName.INPUT_DIM_MISMATCH,
                         f"MultiHeadAttention needs value {format_shape(value)} and key "
                         f"{format_shape(key)} to agree on every axis but the last")
    sizes = Heads.of(call.config)
    out = sizes.output or (query[-1],)
    outputs: list[Shape] = [(*query[:-1], *out)]
    if _flag(call, "return_attention_scores"):
        outputs.append(_score_shape(query, key, sizes.heads, call.config.get("attention_axes")))
    return LayerShapes(outputs=tuple(outputs),
                       weights=_mha_weights(sizes, query, value, key, call.config, out))
