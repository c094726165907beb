"""The one object that decides which findings are reported: its precedence, step by step."""

from __future__ import annotations

from pathlib import Path

from graphcheck.config import Request
from graphcheck.findings import Finding, Severity
from graphcheck.settings import Decision, Selection, Settings

LSTM_RULE = ("GC301", "units-equal-timesteps")
OTHER_RULE = ("GC302", "single-timestep")


def decide(selection: Selection, rule: tuple[str, str], node: str | None = None) -> Decision:
    """Return the decision for a (code, name) rule on a layer."""
    return selection.decision_for(*rule, node)


def test_default_selects_every_rule_on_every_layer() -> None:
    assert decide(Selection(), LSTM_RULE, "lstm") is Decision.SELECTED


def test_selectors_match_code_prefix_name_and_all() -> None:
    for selector in ("ALL", "all", "GC3", "gc30", "GC301", "units-equal-timesteps"):
        assert Selection.only(selector).runs(*LSTM_RULE), selector
    assert not Selection.only("GC5").runs(*LSTM_RULE)
    assert not Selection.only("single-timestep").runs(*LSTM_RULE)


def test_ignore_beats_select_and_extend_select() -> None:
    selection = Selection(select=("GC301",), extend_select=("GC301",), ignore=("GC3",))
    assert decide(selection, LSTM_RULE) is Decision.IGNORED


def test_extend_select_adds_to_select() -> None:
    selection = Selection(select=("GC5",), extend_select=("single-timestep",))
    assert decide(selection, OTHER_RULE) is Decision.SELECTED
    assert decide(selection, LSTM_RULE) is Decision.IGNORED


def test_layer_ignores_only_narrow_on_matching_layers() -> None:
    selection = Selection(layer_ignores={"lstm*": ("GC301",)})
    assert decide(selection, LSTM_RULE, "lstm_2") is Decision.IGNORED
    assert decide(selection, LSTM_RULE, "dense") is Decision.SELECTED
    assert decide(selection, LSTM_RULE) is Decision.SELECTED  # a file-level finding
    assert decide(selection, OTHER_RULE, "lstm_2") is Decision.SELECTED


def test_kept_rules_win_over_every_ignore() -> None:
    selection = Selection(ignore=("ALL",), layer_ignores={"*": ("ALL",)},
                          kept=("lfs-pointer",))
    assert decide(selection, ("GC004", "lfs-pointer"), "x") is Decision.SELECTED
    assert decide(selection, LSTM_RULE) is Decision.IGNORED


def test_reports_reads_a_findings_code_name_and_node() -> None:
    found = Finding(path="m.keras", code="GC301", rule="units-equal-timesteps",
                    severity=Severity.WARNING, node="lstm", message="m")
    assert Selection().reports(found)
    assert not Selection(layer_ignores={"lstm": ("units-equal-timesteps",)}).reports(found)


def test_request_builds_the_selection_from_configuration_and_command_line(tmp_path: Path) -> None:
    """Command-line select replaces the file's, ignores add up, analysis rules stay on."""
    (tmp_path / "graphcheck.toml").write_text(
        'select = ["GC5"]\nignore = ["GC302"]\nextend-select = ["GC3"]\n'
        '[per-layer-ignores]\n"*.keras:lstm" = ["GC301"]\n')
    model = tmp_path / "m.keras"
    base = Settings(config=Request(select=("GC3",), ignore=("GC303",), cwd=tmp_path))
    chosen = base.for_file(model).selection
    assert chosen.runs(*LSTM_RULE) and not chosen.runs(*OTHER_RULE)
    assert not chosen.runs("GC303", "x") and not chosen.runs("GC501", "y")
    assert chosen.runs("GC001", "unreadable-model")  # category "analysis"
    assert decide(chosen, LSTM_RULE, "lstm") is Decision.IGNORED
