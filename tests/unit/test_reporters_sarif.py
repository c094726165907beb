"""SARIF: validates against the 2.1.0 schema, rules in the driver, stable fingerprints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from graphcheck.cli import main
from graphcheck.findings import Finding, Severity
from graphcheck.reporters import RenderOptions
from graphcheck.reporters import sarif as sarif_module
from graphcheck.reporters.sarif import FINGERPRINT, REPORTER
from graphcheck.results import FileResult
from graphcheck.rules.registry import all_rules

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json"
ANALYSIS = {r.code for r in all_rules() if r.category == "analysis"}


def validate(log: dict[str, Any]) -> None:
    """Validate a SARIF log against the official schema (with format checks)."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)
    validator(schema, format_checker=validator.FORMAT_CHECKER).validate(log)


@pytest.fixture()
def sarif(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run ``check --format sarif`` from the repository over the fixtures plus broken files."""
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "truncated.keras").write_bytes((ROOT / "fixtures/keras/question.keras").read_bytes()[:300])
    (broken / "pointer.h5").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:ab\n")
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["check", "--format", "sarif", "--output",
                                       str(tmp_path / "out.sarif"), "fixtures", str(broken)])
    assert result.exit_code == 1, result.output
    log: dict[str, Any] = json.loads((tmp_path / "out.sarif").read_text(encoding="utf-8"))
    return log


def test_sarif_over_fixtures_validates(sarif: dict[str, Any]) -> None:
    """The whole log is valid SARIF 2.1.0."""
    validate(sarif)
    assert sarif["version"] == "2.1.0" and len(sarif["runs"]) == 1


def test_every_rule_is_in_the_driver_with_descriptions(sarif: dict[str, Any]) -> None:
    """Each registered rule is described: short and full description, help from its docs."""
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.code for r in all_rules()]
    for described, rule in zip(rules, all_rules()):
        assert described["shortDescription"]["text"] == rule.summary
        assert described["fullDescription"]["text"]
        assert described["help"]["text"] == rule.documentation()


def test_results_name_driver_rules_and_carry_fingerprints(sarif: dict[str, Any]) -> None:
    """Each result's ruleId/ruleIndex point into the driver; fingerprints exist and differ."""
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert run["results"], "the fixtures have findings"
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["partialFingerprints"][FINGERPRINT]
        location = res["locations"][0]["physicalLocation"]
        assert location["region"] == {"startLine": 1}
        if res["ruleId"] in ANALYSIS:  # the broken files live outside the repository
            continue
        assert not location["artifactLocation"]["uri"].startswith(("/", "file:"))
        assert (ROOT / location["artifactLocation"]["uri"]).exists()
    prints = [r["partialFingerprints"][FINGERPRINT] for r in run["results"]]
    assert len(set(prints)) == len(prints)
    layers = [r for r in run["results"] if "logicalLocations" in r["locations"][0]]
    assert layers and all(r["message"]["text"].startswith(
        r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]) for r in layers)


def test_could_not_analyse_is_a_result_and_a_notification(sarif: dict[str, Any]) -> None:
    """Unreadable files and LFS pointers raise alerts (results) and are tool notifications."""
    run = sarif["runs"][0]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    uris = {n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for n in notes}
    assert {u.rsplit("/", 1)[-1] for u in uris} >= {"truncated.keras", "pointer.h5"}
    assert {n["associatedRule"]["id"] for n in notes} <= ANALYSIS
    broken = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
               .rsplit("/", 1)[-1], r["level"]) for r in run["results"] if r["ruleId"] in ANALYSIS}
    assert {("GC001", "truncated.keras", "error"), ("GC004", "pointer.h5", "error")} <= broken
    assert not [r for r in run["results"] if r["ruleId"] == "GC006"]  # weights only: no alert
    assert [n for n in notes if n["associatedRule"]["id"] == "GC006"]


def test_unsafe_code_is_a_security_rule(sarif: dict[str, Any]) -> None:
    """GC003 carries the security tag and a security-severity; other rules do not."""
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    unsafe = rules["GC003"]["properties"]
    assert "security" in unsafe["tags"] and float(unsafe["security-severity"]) >= 7.0
    assert all("security" not in r["properties"]["tags"] for code, r in rules.items() if code != "GC003")


def test_help_uri_comes_from_project_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a repository URL in [project.urls], each rule links to its section of docs/rules.md."""
    monkeypatch.setattr(sarif_module, "project_urls",
                        lambda: {"repository": "https://github.com/acme/graphcheck"})
    log = json.loads(REPORTER.render([], RenderOptions(version="0.1.0")))
    validate(log)
    first = log["runs"][0]["tool"]["driver"]["rules"][0]
    assert first["helpUri"] == ("https://github.com/acme/graphcheck/blob/v0.1.0/docs/rules.md"
                                "#unreadable-model-gc001")
    monkeypatch.setattr(sarif_module, "project_urls", lambda: {"rules": "https://x.example/rules"})
    assert sarif_module.rules_page("1") == "https://x.example/rules"
    monkeypatch.setattr(sarif_module, "project_urls", dict)
    log = json.loads(REPORTER.render([], RenderOptions(version="0.1.0")))
    assert all("helpUri" not in r for r in log["runs"][0]["tool"]["driver"]["rules"])


def finding(message: str, node: str | None = "lstm") -> Finding:
    """Make a weight-shape-mismatch finding."""
    return Finding(path="models/m.keras", code="GC101", rule="weight-shape-mismatch",
                   severity=Severity.ERROR, node=node, message=message)


def prints(*findings: Finding) -> list[str]:
    """Render findings and return their fingerprints."""
    log = json.loads(REPORTER.render([FileResult(path="models/m.keras", findings=list(findings))],
                                     RenderOptions(version="1")))
    validate(log)
    return [r["partialFingerprints"][FINGERPRINT] for r in log["runs"][0]["results"]]


def test_fingerprints_follow_rule_path_layer_not_message() -> None:
    """Same rule, file and layer: same fingerprint whatever the numbers; repeats are numbered."""
    one, two = prints(finding("kernel is (64, 128)"), finding("bias is (128,)"))
    assert one.split(":")[0] == two.split(":")[0] and one != two
    assert prints(finding("kernel is (64, 999)")) == [one]
    assert prints(finding("kernel is (64, 128)", node="dense")) != [one]
