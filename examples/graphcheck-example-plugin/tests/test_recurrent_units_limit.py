"""The team rule GCX001: its own cases, its option, and ONNX models."""

from __future__ import annotations

from graphcheck_example_plugin.rules import RecurrentUnitsLimit

from graphcheck.testing import (
    assert_findings,
    assert_rule_cases,
    check_config,
    layer,
    lstm,
    onnx_lstm,
    sequential,
)


def test_rule_cases() -> None:
    """Every VALID case is silent and every INVALID case fires where and as it says."""
    assert_rule_cases(RecurrentUnitsLimit)


def test_max_units_is_configurable() -> None:
    """max-units, as [tool.graphcheck.rules.recurrent-units-limit] sets it, moves the limit."""
    model = sequential([None, 40, 64], lstm("lstm", 128))
    assert_findings(check_config(model, select=["GCX001"]), {"GCX001": 0})
    tight = {"recurrent-units-limit": {"max-units": 64}}
    findings = check_config(model, select=["GCX001"], options=tight)
    assert_findings(findings, {"recurrent-units-limit": 1}, exact=True)
    assert "above the team limit of 64" in findings[0].message


def test_both_directions_of_a_bidirectional_count() -> None:
    """A Bidirectional with two wide directions gets one finding per direction."""
    wide = layer("Bidirectional", "bi", layer=lstm("fwd", 300),
                 backward_layer=lstm("bwd", 300, go_backwards=True))
    findings = check_config(sequential([None, 40, 64], wide), select=["GCX001"])
    assert_findings(findings, {"GCX001": 2}, exact=True)


def test_onnx_hidden_size() -> None:
    """An ONNX LSTM's hidden_size is its units."""
    assert_findings(check_config(onnx_lstm(hidden_size=512), select=["GCX001"]), {"GCX001": 1})
    assert_findings(check_config(onnx_lstm(hidden_size=32), select=["GCX001"]), {"GCX001": 0})
