"""ONNX shape functions: onnx's own inference for every op, graphcheck's for LSTM/GRU/RNN."""

from __future__ import annotations

from graphcheck.shapes.onnx import generic, recurrent  # noqa: F401
