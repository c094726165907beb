"""Oracle: dozens of seeded random recurrent stacks, graphcheck's shapes and params equal Keras 3's."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from tests.oracle_support import analyse, keras_rows, mismatches

pytestmark = pytest.mark.oracle

SEEDS = range(36)
KINDS = ("LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional", "ConvLSTM1D")


@pytest.fixture(scope="session")
def keras() -> Any:
    """Import Keras 3 once per session."""
    import keras as keras3

    return keras3


def recurrent(k: Any, rng: random.Random, kind: str, last: bool) -> Any:
    """Return one random recurrent layer; all but the last return sequences."""
    L = k.layers
    units = rng.randint(1, 9)
    common = {"return_sequences": not last or rng.random() < 0.4}
    if kind == "RNN":
        cells = [rng.choice((L.LSTMCell, L.GRUCell, L.SimpleRNNCell))(rng.randint(1, 6))
                 for _ in range(rng.randint(1, 3))]
        return L.RNN(cells if len(cells) > 1 else cells[0], **common)
    if kind == "Bidirectional":
        inner = rng.choice(("LSTM", "GRU", "SimpleRNN"))
        mode = rng.choice(("concat", "sum", "mul", "ave"))
        return L.Bidirectional(getattr(L, inner)(units, **common), merge_mode=mode)
    extra: dict[str, Any] = {"use_bias": rng.random() < 0.8}
    if kind == "GRU":
        extra["reset_after"] = rng.random() < 0.6
    return getattr(L, kind)(units, go_backwards=rng.random() < 0.2, **common, **extra)


def build(k: Any, seed: int) -> Any:
    """Build the random model of ``seed``: Sequential or Functional, ending in a Dense head."""
    rng = random.Random(seed)
    steps = rng.choice((None, 1, 3, 5, 8, 12))
    features = rng.randint(1, 8)
    layers: list[Any] = []
    depth = rng.randint(1, 4)
    kinds = [rng.choice(KINDS[:5]) for _ in range(depth)]
    if seed % 6 == 5:  # ConvLSTM stacks feed on (T, width, channels) frames
        layers.append(k.layers.Reshape((steps or 4, features, 1)))
        layers.append(k.layers.ConvLSTM1D(rng.randint(1, 4), rng.randint(1, min(features, 3)),
                                          padding=rng.choice(("same", "valid")),
                                          return_sequences=True))
        layers.append(k.layers.TimeDistributed(k.layers.Flatten()))
        steps = steps or 4
    for index, kind in enumerate(kinds):
        layers.append(recurrent(k, rng, kind, index == depth - 1))
    head = k.layers.Dense(rng.randint(1, 5))
    return _assemble(k, rng, (steps, features), layers, head, seed)


def _assemble(k: Any, rng: random.Random, shape: tuple[Any, ...], layers: list[Any], head: Any,
              seed: int) -> Any:
    """Chain the layers Sequential-style, or functionally with an optional TimeDistributed head."""
    inputs = k.Input(shape)
    if seed % 2 == 0:
        return k.Sequential([inputs, *layers, head], name=f"random_{seed}")
    x = inputs
    for layer in layers:
        x = layer(x)
    out = k.layers.TimeDistributed(head)(x) if len(x.shape) == 3 and rng.random() < 0.5 else head(x)
    return k.Model(inputs, out, name=f"random_{seed}")


def test_generator_is_deterministic(keras: Any) -> None:
    """The same seed gives the same architecture, so a failure can be replayed."""
    first = [(type(layer).__name__, layer.count_params()) for layer in build(keras, 7).layers]
    again = [(type(layer).__name__, layer.count_params()) for layer in build(keras, 7).layers]
    assert first == again


@pytest.mark.parametrize("fmt", ["keras", "h5"])
@pytest.mark.parametrize("seed", SEEDS)
def test_random_stack_matches_keras(keras: Any, seed: int, fmt: str, tmp_path: Path) -> None:
    """Every layer of the random stack: output shapes and parameter counts equal Keras's."""
    net = build(keras, seed)
    path = tmp_path / f"random.{fmt}"
    net.save(path)
    assert mismatches(dict(keras_rows(net)), analyse(path)) == []
