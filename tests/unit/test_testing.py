"""graphcheck.testing, the plugin author's kit: its checks pass on good rules and say why on bad ones."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from graphcheck import testing
from graphcheck.findings import Severity
from graphcheck.rules import Case, Context, Hit, Rule
from graphcheck.rules.recurrent import UnitsEqualTimesteps
from graphcheck.testing import (
    assert_case_contract,
    assert_findings,
    assert_invalid_case,
    assert_rule_cases,
    assert_valid_case,
    check_config,
    dense,
    lstm,
    onnx_lstm,
    sequential,
)

QUESTION = sequential([None, 10, 64], lstm("lstm", 10), dense("dense", 2))


class Unregistered(Rule):
    """A rule no entry point registers (defined here, in a test)."""

    code = "GCT901"
    name = "test-unregistered"
    severity = Severity.NOTE
    summary = template = what = why = example = fix = "a test rule"
    VALID = (Case(model=QUESTION),)
    INVALID = (Case(model=QUESTION, nodes=("lstm",), contains="a test"),)

    def check(self, ctx: Context) -> Iterator[Hit]:
        """Hit nothing."""
        return iter(())


def test_importing_it_imports_no_framework() -> None:
    """`import graphcheck.testing` imports no framework, and not onnx until an ONNX model is built."""
    code = ("import sys, graphcheck.testing; print(sorted(m for m in ('tensorflow', 'keras', "
            "'tf_keras', 'torch', 'onnx') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_every_public_name_exists() -> None:
    """__all__ names only what the module defines or re-exports."""
    assert all(hasattr(testing, name) for name in testing.__all__)


def test_assert_rule_cases_passes_on_a_good_rule() -> None:
    """A built-in rule's cases all hold."""
    assert_rule_cases(UnitsEqualTimesteps)


def test_a_valid_case_that_fires_says_so() -> None:
    """A VALID case that gets a finding fails with the finding's text."""
    with pytest.raises(AssertionError, match=r"GC301 units-equal-timesteps: VALID case got findings"
                                             r":\n\s+case.keras:lstm: GC301 .*T=10"):
        assert_valid_case(UnitsEqualTimesteps, UnitsEqualTimesteps.INVALID[0])


def test_an_invalid_case_on_the_wrong_node_says_where_it_fired() -> None:
    """Hits on other nodes than the case lists fail, naming both."""
    case = Case(model=QUESTION, nodes=("dense",), contains="T=10")
    with pytest.raises(AssertionError, match=r"expected hits on nodes \['dense'\], got \['lstm'\]"):
        assert_invalid_case(UnitsEqualTimesteps, case)


def test_an_invalid_case_with_other_words_says_which() -> None:
    """A message without the expected text fails, quoting the text and the message."""
    case = Case(model=QUESTION, nodes=("lstm",), contains="T=11")
    with pytest.raises(AssertionError, match=r"contain 'T=11':\n\s+case.keras:lstm: GC301"):
        assert_invalid_case(UnitsEqualTimesteps, case)


def test_the_case_contract() -> None:
    """No VALID case, no INVALID case, or an INVALID case without text: each is named."""

    class Bare(Unregistered):
        VALID = ()

    with pytest.raises(AssertionError, match="GCT901 test-unregistered has no VALID case"):
        assert_case_contract(Bare)

    class Wordless(Unregistered):
        INVALID = (Case(model=QUESTION, nodes=("lstm",)),)

    with pytest.raises(AssertionError, match=r"INVALID\[0\] checks no message text"):
        assert_case_contract(Wordless)


def test_an_unregistered_rule_is_not_passed_silently() -> None:
    """A rule graphcheck would never run cannot pass its VALID cases by staying silent."""
    with pytest.raises(AssertionError, match=r"not a registered rule.*graphcheck\.rules"):
        assert_valid_case(Unregistered, Unregistered.VALID[0])


def test_check_config_selects_and_takes_options() -> None:
    """The select argument narrows the rules; options are the [tool.graphcheck.rules.<name>] tables."""
    assert [f.rule for f in check_config(QUESTION)] == ["units-equal-timesteps"]
    assert check_config(QUESTION, select=["GC1"]) == []
    quiet = {"units-equal-timesteps": {"min-units": 11}}
    assert check_config(QUESTION, options=quiet) == []


def test_check_config_checks_weight_shapes() -> None:
    """Stored weight shapes are compared with what the config implies."""
    model = sequential([None, 4], dense("dense", 2))
    assert check_config(model, {"dense": {"vars/0": (4, 2), "vars/1": (2,)}}) == []
    (found,) = check_config(model, {"dense": {"vars/0": (3, 2), "vars/1": (2,)}})
    assert (found.rule, found.node, found.severity) == ("weight-shape-mismatch", "dense", Severity.ERROR)


@pytest.mark.parametrize(("op", "direction"), [("LSTM", "forward"), ("GRU", "bidirectional"),
                                               ("RNN", "reverse")])
def test_onnx_models_are_consistent_unless_told(op: str, direction: str) -> None:
    """onnx_lstm's default initializers fit the operator; a changed W is a weight mismatch."""
    assert check_config(onnx_lstm(16, op=op, direction=direction)) == []
    dirs = 2 if direction == "bidirectional" else 1
    findings = check_config(onnx_lstm(16, op=op, direction=direction, W=[dirs, 8, 64]))
    assert_findings(findings, {"weight-shape-mismatch": 1})


def test_onnx_symbolic_dimensions_and_dropped_inputs() -> None:
    """A symbolic batch stays symbolic; B=None leaves the optional bias out."""
    model = onnx_lstm(8, batch="N", B=None)
    assert [i.name for i in model.graph.initializer] == ["W", "R"]
    assert model.graph.input[0].type.tensor_type.shape.dim[1].dim_param == "N"
    assert check_config(model) == []


def test_assert_findings() -> None:
    """Counts by code or name; a mismatch lists every finding; exact refuses other rules."""
    findings = check_config(QUESTION)
    assert_findings(findings, {"GC301": 1, "units-equal-timesteps": 1, "GC101": 0})
    with pytest.raises(AssertionError, match=r"expected \{'GC301': 2\}, got \{'GC301': 1\}.*\n.*T=10"):
        assert_findings(findings, {"GC301": 2})
    with pytest.raises(AssertionError, match="findings of other rules"):
        assert_findings(findings, {"GC101": 0}, exact=True)
