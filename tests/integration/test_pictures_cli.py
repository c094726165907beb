"""The pictures end to end on real fixtures: ``explain --format html|mermaid|dot``, ``check --format html``.

The numbers a picture must show are read from the explain JSON of the same file (and checked
against what the framework itself reported, ``*.expected.json`` and ``fixtures/onnx/params.json``),
never typed here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from graphcheck.cli import main
from graphcheck.reporters.mermaid import text as mermaid_text
from tests.browser import ink, screenshot
from tests.hostile.test_output_escaping import hostile_keras
from tests.unit.test_pictures import MERMAID_LINE, SVG, parsed

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
QUESTION = FIXTURES / "keras" / "question.keras"
MODELS = sorted([*FIXTURES.glob("keras/*.keras"), *FIXTURES.glob("onnx/*.onnx")])


def run(*args: str) -> tuple[int, str]:
    """Invoke the CLI in-process; return the exit code and stdout."""
    result = CliRunner().invoke(main, list(args))
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        result.output
    return result.exit_code, result.output


def explained(path: Path) -> dict[str, Any]:
    """Return the explain JSON of one file."""
    code, out = run("explain", "--format", "json", str(path))
    assert code == 0, out
    document: list[dict[str, Any]] = json.loads(out)
    return document[0]


def svgs(page: str) -> list[ET.Element]:
    """Return every inline SVG of a page, parsed as XML (each must be well-formed)."""
    return [ET.fromstring(s) for s in re.findall(r"<svg .*?</svg>", page, re.DOTALL)]


def words(page: str) -> set[str]:
    """Return every text drawn in the page's SVGs."""
    return {"".join(t.itertext()) for svg in svgs(page) for t in svg.iter(f"{SVG}text")}


def recurrent_numbers(report: dict[str, Any], name: str) -> dict[str, Any]:
    """Read a recurrent layer's numbers from explain JSON: input shape, units, kernel, params."""
    nodes = {n["name"]: n for n in report["nodes"]}
    layer = nodes[name]
    _, timesteps, features = nodes[layer["inputs"][0]]["output_shapes"][0]
    return {"timesteps": timesteps, "features": features, "units": layer["output_shapes"][0][-1],
            "kernel": tuple(layer["weights"]["kernel"]), "params": layer["params"]}


def test_the_question_report_draws_the_lstm_to_its_numbers(tmp_path: Path) -> None:
    report = explained(QUESTION)
    numbers = recurrent_numbers(report, "lstm")
    framework = json.loads((FIXTURES / "keras" / "question.expected.json").read_text())
    assert numbers["params"] == next(x["params"] for x in framework["layers"] if x["name"] == "lstm")
    out = tmp_path / "report.html"
    code, _ = run("explain", "--format", "html", "-o", str(out), str(QUESTION))
    page = out.read_text(encoding="utf-8")
    assert code == 0
    parsed(page)
    drawn = words(page)
    units, features, steps = numbers["units"], numbers["features"], numbers["timesteps"]
    kernel = f"kernel ({numbers['kernel'][0]}, {numbers['kernel'][1]})"
    for expected in (f"{features} features", f"{units} units", f"x_{steps}", kernel,
                     f"returns only the last h: ({units},)"):
        assert expected in drawn, expected
    assert any(f"unrolled over {steps} timesteps" in w for w in drawn)
    assert f"= 4*{units}*({features} + {units} + 1) = {numbers['params']:,}" in drawn
    assert f"{framework['total_params']:,} parameters" in page
    assert all(f">{n['name']}<" in page for n in report["nodes"])


@pytest.mark.parametrize("name", ["torch_lstm_bi_2layer.onnx", "keras_bilstm.onnx", "torch_gru_bi.onnx"])
def test_onnx_reports_draw_both_directions_and_the_framework_total(tmp_path: Path, name: str) -> None:
    path = FIXTURES / "onnx" / name
    report = explained(path)
    want = json.loads((FIXTURES / "onnx" / "params.json").read_text())[name]
    # tf2onnx stores the zero recurrent bias Keras does not have; the ONNX file counts it
    framework = want["params"] + want.get("zero_recurrent_bias", 0)
    out = tmp_path / "r.html"
    run("explain", "--format", "html", "-o", str(out), str(path))
    page = out.read_text(encoding="utf-8")
    parsed(page)
    assert f"{report['total_params']:,} parameters" in page and report["total_params"] == framework
    recurrent = [n for n in report["nodes"] if n["type"] in ("LSTM", "GRU", "RNN")]
    assert recurrent and page.count("<figcaption>forward</figcaption>") == len(recurrent)
    assert page.count("<figcaption>backward</figcaption>") == len(recurrent)


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_every_fixture_renders_in_every_picture_format(tmp_path: Path, path: Path) -> None:
    code, page = run("explain", "--format", "html", str(path))
    assert code == 0
    parsed(page)
    assert svgs(page) or "error-text" in page
    code, chart = run("explain", "--format", "mermaid", str(path))
    assert code == 0 and chart.startswith("flowchart TB\n")
    assert all(MERMAID_LINE.fullmatch(line) for line in chart.splitlines()), chart
    report = explained(path)
    shown = [n["name"] for n in report["nodes"][:20] if n["type"] != "Constant"]
    assert all(f'["{mermaid_text(name)}<br/>' in chart  # nested layers by their inner name
               or f'["{mermaid_text(name.rsplit("/", 1)[-1])}<br/>' in chart for name in shown)
    code, graph = run("explain", "--format", "dot", str(path))
    assert code == 0 and graph.startswith("digraph ")
    if shutil.which("dot"):
        done = subprocess.run(["dot", "-Tsvg"], input=graph.encode(), capture_output=True, check=False)
        assert done.returncode == 0, done.stderr.decode()
        ET.fromstring(done.stdout)


def test_check_html_lists_findings_with_their_rule_docs_and_the_pictures(tmp_path: Path) -> None:
    broken = FIXTURES / "keras" / "units16_weights32.keras"
    out = tmp_path / "check.html"
    code, _ = run("check", "--format", "html", "-o", str(out), str(broken), str(QUESTION))
    assert code == 1
    page = out.read_text(encoding="utf-8")
    tags = parsed(page)
    _, findings = run("check", "--format", "json", str(broken))
    codes = {f["code"] for f in json.loads(findings)["findings"]}
    assert codes and all(("details", {"id": f"rule-{c}"}) in tags.tags for c in codes)
    assert "## How to fix" in page and page.count('<section class="model"') == 2
    assert len(svgs(page)) >= 3  # both graphs and the question's cell diagram
    section = next(part for part in page.split('<section class="model"') if broken.name in part)
    assert section.index("<h3>Findings</h3>") < section.index("<h3>Graph</h3>")  # check: findings first


def test_check_html_is_empty_on_a_quiet_clean_run() -> None:
    assert run("check", "--format", "html", "-q", str(QUESTION)) == (0, "")


def test_check_markdown_embeds_one_mermaid_block_per_file() -> None:
    code, out = run("check", "--format", "markdown", str(QUESTION),
                    str(FIXTURES / "onnx" / "keras_lstm.onnx"))
    assert code == 0
    blocks = re.findall(r"```mermaid\n(.*?)```", out, re.DOTALL)
    assert len(blocks) == 2 and all(b.startswith("flowchart TB\n") for b in blocks)


@pytest.mark.parametrize(("fmt", "shown"), [("html", "\\x1b[2J"), ("dot", "\\\\x1b[2J"),
                                           ("mermaid", "#92;x1b#91;2J")])
def test_hostile_names_stay_text_in_every_picture(tmp_path: Path, fmt: str, shown: str) -> None:
    path = hostile_keras(tmp_path, b"m.keras")
    code, out = run("explain", "--format", fmt, str(path))
    assert code == 0
    assert "\x1b" not in out and "\ud800" not in out and shown in out


def test_a_browser_draws_the_question_report(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    run("explain", "--format", "html", "-o", str(page), str(QUESTION))
    share, colours = ink(screenshot(page, tmp_path, "1000,800"))
    assert share > 0.03 and colours > 20, (share, colours)  # text, boxes, gate colours: not blank


def test_hostile_and_broken_fixtures_still_make_valid_pictures() -> None:
    folders = [str(FIXTURES / "hostile"), str(FIXTURES / "onnx" / "broken")]
    code, page = run("explain", "--format", "html", *folders)
    assert code == 0 and page.count('<section class="model"') > 10
    parsed(page)
    svgs(page)
    code, chart = run("explain", "--format", "mermaid", *folders)
    assert code == 0 and all(MERMAID_LINE.fullmatch(line) for line in chart.splitlines())
    code, graph = run("explain", "--format", "dot", *folders)
    if shutil.which("dot"):
        done = subprocess.run(["dot", "-Tsvg"], input=graph.encode(), capture_output=True, check=False)
        assert done.returncode == 0, done.stderr.decode()
