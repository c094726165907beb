"""Keras shape functions; importing this package registers all of them."""

from __future__ import annotations

from graphcheck.shapes.keras import (  # noqa: F401
    attention,
    conv,
    core,
    merging,
    normalization,
    ops,
    ops_arrays,
    ops_tf_graph,
    pooling,
    recurrent,
    reshaping,
    wrappers,
)
