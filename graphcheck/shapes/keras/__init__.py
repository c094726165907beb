"""Keras shape functions; importing this package registers all of them."""

from __future__ import annotations

from graphcheck.shapes.keras import (  # noqa: F401
    applications,
    attention,
    conv,
    core,
    einsum,
    foreign,
    images,
    keras_hub,
    locally_connected,
    merging,
    normalization,
    ops,
    ops_arrays,
    ops_tf_graph,
    pooling,
    preprocessing,
    recurrent,
    reshaping,
    rnn_cells,
    wrappers,
)
