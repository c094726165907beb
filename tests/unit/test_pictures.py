"""The pictures (Mermaid, DOT, SVG, HTML) drawn from hand-built ModelReports.

These reports test the drawing code only: what a real file produces is checked end to end in
tests/integration/test_pictures_cli.py, against the explain JSON of the same fixture.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from graphcheck.explanations.report import Cell, ModelReport, NodeReport
from graphcheck.findings import Finding, Severity
from graphcheck.graph import Shape
from graphcheck.reporters import dot, html, mermaid
from graphcheck.reporters.picture import COLLAPSE, LIMIT, scope, scopes
from graphcheck.reporters.svg.cell import cell_svg, merge_note
from graphcheck.reporters.svg.graph import graph_svg
from graphcheck.reporters.svg.layout import layers, layout
from tests.browser import dom, ink, screenshot

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = ('</script><script>document.body.dataset.pwned=1</script>"]]; click A call x\n'
           '<img src=x onerror="document.body.dataset.pwned=2">\x1b[2J\\N&lt;`')


def lstm(units: int = 7, features: int = 3, timesteps: int | None = 5, **changes: object) -> Cell:
    """Return an LSTM cell with numbers unlike any default."""
    fields: dict[str, object] = dict(
        kind="LSTM", layer_class="LSTM", label=None, units=units, features=features,
        timesteps=timesteps, gates=("input", "forget", "cell", "output"),
        kernel=(features, 4 * units), recurrent_kernel=(units, 4 * units), bias=(4 * units,),
        return_sequences=False, return_state=False, reverse=False,
        params=4 * units * (features + units + 1), formula="4*units*(features + units + 1)",
        numbers=f"4*{units}*({features} + {units} + 1) = {4 * units * (features + units + 1):,}")
    fields.update(changes)
    return Cell(**fields)  # type: ignore[arg-type]


def node(name: str, type_: str, inputs: tuple[str, ...] = (), params: int = 0,
         out: tuple[Shape, ...] = ((None, 9),), **more: Any) -> NodeReport:
    """Return a layer with made-up shapes (the drawing does not care which)."""
    shapes = tuple((None, i + 1) for i, _ in enumerate(inputs))
    return NodeReport(name=name, type=type_, inputs=inputs, input_shapes=more.pop("shapes", shapes),
                      output_shapes=out, params=params, **more)


def report(nodes: list[NodeReport], findings: tuple[Finding, ...] = (), path: str = "m.keras",
           fmt: str = "keras") -> ModelReport:
    """Return a report of the given layers."""
    return ModelReport(path=path, format=fmt, nodes=tuple(nodes), findings=findings, total_params=0)


def finding(layer: str, severity: Severity = Severity.ERROR) -> Finding:
    """Return a finding on one layer."""
    return Finding(path="m.keras", code="GC101", rule="weight-shape-mismatch", severity=severity,
                   node=layer, message=f"about {layer}")


def chain(count: int, type_: str = "Dense", first: str = "in") -> list[NodeReport]:
    """Return an input and ``count`` layers each fed by the one before."""
    nodes = [node(first, "InputLayer")]
    for i in range(count):
        nodes.append(node(f"l{i}", type_, (nodes[-1].name,), params=10))
    return nodes


def hostile_report() -> ModelReport:
    """Return a model whose layer, type, file and shape names try to break out."""
    nodes = [node("in", "InputLayer"), node(HOSTILE, HOSTILE, ("in",), cells=(lstm(),)),
             NodeReport(name="out", type="Dense", inputs=(HOSTILE,), input_shapes=((None, HOSTILE),),
                        output_shapes=((None, 2),), params=3, story=(HOSTILE,))]
    return report(nodes, (finding(HOSTILE),), path=HOSTILE)


def test_layers_put_each_node_below_its_lowest_input_and_survive_cycles() -> None:
    assert layers(["a", "b", "c", "d"], [("a", "b"), ("b", "d"), ("a", "c"), ("c", "d"), ("a", "d")]) \
        == {"a": 0, "b": 1, "c": 1, "d": 2}
    cyclic = layers(["a", "b", "c"], [("a", "b"), ("b", "c"), ("c", "b")])
    assert set(cyclic) == {"a", "b", "c"} and cyclic["a"] == 0


def test_layout_keeps_nodes_apart_and_edges_on_their_ends() -> None:
    sizes = {k: (60.0 + 10 * i, 30.0) for i, k in enumerate("abcdef")}
    edges = [("a", "b"), ("a", "c"), ("a", "d"), ("b", "e"), ("c", "e"), ("d", "f"), ("a", "f")]
    placed = layout(sizes, edges)
    boxes = list(placed.nodes.values())
    for i, p in enumerate(boxes):
        assert p.x >= 0 and p.x + p.w <= placed.width and p.y + p.h <= placed.height
        for q in boxes[i + 1:]:
            assert p.y != q.y or p.x + p.w <= q.x or q.x + q.w <= p.x, (p, q)
    for src, dst, points in placed.edges:
        s, d = placed.nodes[src], placed.nodes[dst]
        assert points[0] == (s.x + s.w / 2, s.y + s.h) and points[-1] == (d.x + d.w / 2, d.y)
    long_edge = next(points for s, d, points in placed.edges if (s, d) == ("a", "f"))
    assert len(long_edge) == 4  # straight down past the layer it crosses


def test_long_chains_of_one_type_collapse_and_findings_stay_visible() -> None:
    nodes = chain(12)
    part = scope(report(nodes), None, "m0")
    assert [b.kind for b in part.boxes] == ["InputLayer", "Dense \u00d712"]
    assert part.boxes[1].params == 120 and part.boxes[1].name == "l0 \u2026 l11"
    split = scope(report(nodes, (finding("l5", Severity.WARNING),)), None, "m0")
    assert [b.kind for b in split.boxes] == ["InputLayer", "Dense \u00d75", "Dense", "Dense \u00d76"]
    assert split.boxes[2].severity == Severity.WARNING
    short = scope(report(chain(COLLAPSE - 1)), None, "m0")
    assert len(short.boxes) == COLLAPSE


def test_nested_models_are_their_own_scope_with_short_names() -> None:
    nodes = [node("in", "InputLayer"), node("enc", "Functional", ("in",)),
             node("enc/a", "InputLayer", parent="enc", depth=1),
             node("enc/b", "Dense", ("a",), parent="enc", depth=1), node("out", "Dense", ("enc",))]
    top, inner = scopes(report(nodes))
    assert [b.name for b in top.boxes] == ["in", "enc", "out"] and top.boxes[1].nested
    assert inner.name == "enc" and [b.name for b in inner.boxes] == ["a", "b"]
    assert [(a.src, a.dst) for a in inner.arrows] == [(inner.boxes[0].key, inner.boxes[1].key)]
    text = mermaid.flowchart(report(nodes))
    assert f'subgraph {inner.key}["enc (Functional)"]' in text and text.count("\n  end") == 1


def test_onnx_constants_are_left_out_of_the_picture_but_counted() -> None:
    nodes = [node("x", "Input"), node("c", "Constant"), node("add", "Add", ("x", "c"))]
    part = scope(report(nodes, fmt="onnx"), None, "m0")
    assert [b.name for b in part.boxes] == ["x", "add"] and part.constants == 1
    assert "1 Constant operators not drawn" in mermaid.flowchart(report(nodes, fmt="onnx"))


# Mermaid statements graphcheck writes; anything else would be a name that broke out.
MERMAID_LINE = re.compile(
    r'(flowchart TB|  classDef \w+ [\w:#,.-]+|\s*direction TB|\s*end|\s*class \w+ \w+'
    r'|\s*\w+\["[^"]*"\]|\s*subgraph \w+\["[^"]*"\]|\s*\w+ -->\|"[^"]*"\| \w+)')


def test_mermaid_escapes_every_hostile_character() -> None:
    text = mermaid.document([hostile_report(), hostile_report()])
    for line in text.splitlines():
        assert MERMAID_LINE.fullmatch(line), line
    assert "click" not in re.sub(r'"[^"]*"', "", text)  # only ever inside a label
    assert "#60;/script#62;" in text and "#34;#93;#93;#59; click A call x" in text


def test_dot_is_valid_for_graphviz_and_shows_names_literally(tmp_path: Path) -> None:
    if shutil.which("dot") is None:
        pytest.skip("graphviz is not installed (.ci/run installs it)")
    nodes = [*chain(10), node("enc", "Functional", ("l9",)),
             node("enc/a", "Dense", (), parent="enc", depth=1)]
    source = dot.document([hostile_report(), report(nodes, (finding("l2"),))])
    done = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    svgs = done.stdout.decode().split("<?xml")[1:]
    assert len(svgs) == 2
    words = " ".join("".join(e.itertext()) for e in ET.fromstring("<?xml" + svgs[0]).iter(f"{SVG}text"))
    assert "</script><script>" in words and '"]]; click A call x' in words and "&lt;`" in words
    assert "<title>cluster_" in svgs[1] and "Dense \u00d77" in svgs[1]


def test_graph_svg_parses_and_carries_names_shapes_and_params() -> None:
    nodes = [node("in", "InputLayer", out=((None, 3),)),
             node("mid", "Dense", ("in",), params=1234, out=((None, 4, 5), (None, 5))),
             node("out", "Dense", ("mid", "in"), params=5, shapes=((None, 5), (None, 3)))]
    part = scopes(report(nodes, (finding("out", Severity.NOTE),)))
    root = ET.fromstring(graph_svg(part[0], part))
    words = [t.text for t in root.iter(f"{SVG}text")]
    assert {"in", "mid", "out", "Dense \u00b7 1,234 params", "(None, 3)", "(None, 5)"} <= set(words)
    assert "(None, 4, 5)" not in words  # of mid's two outputs, the one out receives
    assert [r.get("class") for r in root.iter(f"{SVG}rect")].count("note") == 1
    assert len(list(root.iter(f"{SVG}path"))) == 4  # 3 edges + the arrow head


def svg_words(svg: str) -> list[str]:
    """Return every text in an SVG (it must parse)."""
    return ["".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG}text")]


def test_cell_diagram_is_drawn_to_its_numbers() -> None:
    words = " | ".join(svg_words(cell_svg(lstm(units=7, features=3, timesteps=5), "k")))
    for expected in ("3 features", "7 units", "kernel (3, 28)", "recurrent_kernel (7, 28)",
                     "bias (28,)", "input: 7 units", "output: 7 units", "x_5", "h_5",
                     "unrolled over 5 timesteps", "4*units*(features + units + 1)", "= 308"):
        assert expected in words, expected
    assert "\u2026" not in words and words.count("LSTM cell") == 5
    root = ET.fromstring(cell_svg(lstm(units=7, features=3), "k"))
    matrices = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "matrix"]
    kernel, recurrent = (float(m.get("height") or 0) for m in matrices[:2])
    assert kernel / recurrent == pytest.approx(3 / 7, rel=0.01)  # one scale for both matrices


def test_long_and_unknown_sequences_are_drawn_with_an_ellipsis() -> None:
    words = svg_words(cell_svg(lstm(timesteps=1000, return_sequences=True), "k"))
    assert "\u2026" in words and "x_1000" in words and "x_999" in words and "x_500" not in words
    assert sum(w.startswith("h_") and w != "h_t" and w != "h_{t-1}" for w in words) == 5
    unknown = svg_words(cell_svg(lstm(timesteps=None, return_state=True), "k"))
    assert "x_T" in unknown and any("variable number" in w for w in unknown)
    assert any("also the final h and c" in w for w in unknown)


def test_a_reversed_cell_ends_at_the_first_timestep() -> None:
    root = ET.fromstring(cell_svg(lstm(timesteps=3, reverse=True), "k"))
    cells = [r for r in root.iter(f"{SVG}rect") if (r.get("class") or "").startswith("cell")]
    assert [r.get("class") for r in cells] == ["cell final", "cell", "cell"]


def test_bidirectional_shows_both_directions_and_the_merge() -> None:
    cells = (lstm(units=5, label="forward"), lstm(units=3, label="backward", reverse=True))
    bi = NodeReport(name="bi", type="Bidirectional", inputs=("in",), input_shapes=((None, 4, 3),),
                    output_shapes=((None, 8),), params=0, cells=cells, merge_mode="concat")
    assert merge_note(bi) == ("merge_mode=concat: forward and backward outputs joined (5 + 3 units "
                              "per step) -> (None, 8)")
    page = html.page([report([node("in", "InputLayer"), bi])])
    assert page.count("<figure>") == 2 and "<figcaption>backward</figcaption>" in page


class Tags(HTMLParser):
    """Collect start tags with their attributes; fail on anything unbalanced that matters."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("section", "details", "table", "svg", "script", "a"):
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("section", "details", "table", "svg", "script", "a"):
            assert self.open and self.open.pop() == tag, (tag, self.open)


def parsed(page: str) -> Tags:
    """Parse a page; every tracked element must be closed."""
    tags = Tags()
    tags.feed(page)
    tags.close()
    assert not tags.open
    return tags


def test_html_is_one_offline_file_whose_names_cannot_inject() -> None:
    page = html.page([hostile_report()], version="9.9")
    tags = parsed(page)
    assert [t for t, _ in tags.tags].count("script") == 1 and ("img", {"src": "x"}) not in tags.tags
    assert not any(k.startswith("on") for _, attrs in tags.tags for k in attrs)
    assert not any(v and re.search(r"https?:", v) for _, attrs in tags.tags for k, v in attrs.items()
                   if k in ("src", "href"))
    policy = next(a["content"] for t, a in tags.tags if a.get("http-equiv") == "Content-Security-Policy")
    assert policy and "default-src 'none'" in policy
    assert "&lt;/script&gt;&lt;script&gt;" in page and "\\x1b[2J" in page


def test_a_browser_runs_no_injected_script(tmp_path: Path) -> None:
    page = tmp_path / "hostile.html"
    page.write_text(html.page([hostile_report()]), encoding="utf-8")
    after = dom(page, tmp_path)
    assert "graphcheck report" in after, after[:500]
    assert "data-pwned" not in after


def test_nested_models_expand_from_their_box(tmp_path: Path) -> None:
    nodes = [node("in", "InputLayer"), node("enc", "Functional", ("in",)),
             node("enc/a", "InputLayer", parent="enc", depth=1)]
    text = html.page([report(nodes)])
    tags = parsed(text)
    link = next(a for t, a in tags.tags if t == "a" and a.get("data-open"))
    target = (link["href"] or "#")[1:]
    assert ("details", {"class": "nested", "id": target}) in tags.tags
    page = tmp_path / "nested.html"
    page.write_text(text, encoding="utf-8")
    closed, opened = dom(page, tmp_path), dom(page, tmp_path, fragment=target)
    assert f'id="{target}">' in closed and f'id="{target}" open="">' in opened


def test_three_thousand_layers_stay_a_bounded_page() -> None:
    nodes = [node("in", "InputLayer")]
    for i in range(3000):  # no two neighbours alike: nothing collapses, the limit must hold
        nodes.append(node(f"layer_{i}", ("Dense", "ReLU", "Dropout")[i % 3], (nodes[-1].name,)))
    big = report(nodes, (finding("layer_7"),))
    part = scope(big, None, "m0")
    assert len(part.boxes) == LIMIT and part.hidden == 3001 - LIMIT
    page = html.page([big])
    parsed(page)
    assert len(page) < 2_500_000 and "2,601 more layers not drawn" in page
    assert page.count("<tr><td class=\"names\">") == 3001  # the table still lists every layer
    assert len(mermaid.flowchart(big)) < 50_000  # GitHub's limit for one Mermaid block


def test_many_nested_models_share_one_bound() -> None:
    nodes = [node("in", "InputLayer")]
    for i in range(100):
        nodes += [node(f"sub{i}", "Functional", (nodes[0].name,)),
                  *(node(f"sub{i}/l{j}", "Dense", (), parent=f"sub{i}", depth=1) for j in range(5))]
    every = scopes(report(nodes))
    assert sum(len(part.boxes) for part in every) == LIMIT
    assert every[0].hidden == 0 and 1 < len(every) < 101
    assert [part.name for part in every[1:4]] == ["sub0", "sub1", "sub2"]
    drawn = {part.name for part in every}
    page = html.page([report(nodes)])
    assert page.count('class="open"') == len(drawn) - 1  # only drawn nested models open


def test_a_blank_page_reads_as_blank(tmp_path: Path) -> None:
    page = tmp_path / "blank.html"
    page.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    share, colours = ink(screenshot(page, tmp_path, "400,300"))
    assert share == 0 and colours == 1  # so "not blank" in the browser tests can fail


def test_a_recurrent_box_links_to_its_cell_diagram() -> None:
    nodes = [node("in", "InputLayer"), node("rnn", "LSTM", ("in",), cells=(lstm(),))]
    tags = parsed(html.page([report(nodes)]))
    link = next(a for t, a in tags.tags if t == "a" and a.get("class") == "cell-link")
    assert ("article", {"id": (link["href"] or "#")[1:]}) in tags.tags


@pytest.mark.parametrize(("units", "features", "timesteps"),
                         [(0, 0, 0), (-3, 5, -1), (10**12, 1, 10**15), ("h", None, "seq")])
def test_cell_diagrams_survive_degenerate_numbers(units: Any, features: Any, timesteps: Any) -> None:
    cell = lstm(units=1, features=1, timesteps=1)
    odd = Cell(**{**cell.__dict__, "units": units, "features": features, "timesteps": timesteps,
                  "gates": ()})
    root = ET.fromstring(cell_svg(odd, "k"))
    assert float(root.get("width") or 0) < 5000
