"""The names of the rules that stages (loaders, shape functions, the engine) report problems under.

Stages sit below ``rules/`` in the pipeline, so they cannot import rule classes; they name a rule
with one of these constants instead of a free string, so that a typo fails at import (an unknown
attribute) or under mypy, never silently. ``tests/unit/test_rule_names.py`` checks that every
constant is a registered rule and that every ProblemRule's name is a constant here.
"""

from __future__ import annotations

import enum


class RuleName(str, enum.Enum):
    """A rule that a stage raises problems under; the value is the rule's kebab-case name."""

    UNREADABLE_MODEL = "unreadable-model"
    UNSUPPORTED_LAYER = "unsupported-layer"
    UNSAFE_CODE = "unsafe-code"
    LFS_POINTER = "lfs-pointer"
    INTERNAL_ERROR = "internal-error"
    NOT_A_MODEL = "not-a-model"
    INPUT_RANK_MISMATCH = "input-rank-mismatch"
    INPUT_DIM_MISMATCH = "input-dim-mismatch"
    DECLARED_SHAPE_MISMATCH = "declared-shape-mismatch"
    INITIAL_STATE_MISMATCH = "initial-state-mismatch"
    MISSING_HIDDEN_SIZE = "missing-hidden-size"
    BATCHWISE_RECURRENT_LAYOUT = "batchwise-recurrent-layout"
    ONNX_INFERENCE_ERROR = "onnx-inference-error"
    OLD_RECURRENT_OPSET = "old-recurrent-opset"

    __hash__ = str.__hash__  # equal to its value in sets and dict keys, like the string

    def __str__(self) -> str:
        """Return the kebab-case name, as every output format writes it."""
        return self.value

    def __format__(self, spec: str) -> str:
        """Format as the kebab-case name on every Python version (3.12 changed the default)."""
        return format(self.value, spec)
