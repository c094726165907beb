"""A layered (Sugiyama-style) DAG layout in pure Python, top to bottom.

Longest-path layering, a dummy point per layer an edge crosses, barycenter sweeps to reduce
crossings, then coordinates that pull each node over its neighbours without overlaps. Linear
in nodes plus dummy points per sweep; the caller bounds the node count (``picture.LIMIT``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

SWEEPS = 4
# Past this many dummy points a long edge is drawn straight: a few skip connections across
# hundreds of layers would otherwise cost more than all the nodes.
DUMMY_BUDGET = 4000
DUMMY_W = 16.0  # the room a passing edge keeps from the nodes beside it
Point = tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class Placed:
    """A node's top-left corner and size."""

    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True, kw_only=True)
class Layout:
    """Where every node goes, each edge's polyline, and the drawing's size."""

    nodes: dict[str, Placed]
    edges: list[tuple[str, str, list[Point]]]
    width: float
    height: float


def layers(keys: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Return each node's layer: one below its lowest predecessor (edges closing a cycle are ignored)."""
    preds: dict[str, list[str]] = {k: [] for k in keys}
    succs: dict[str, list[str]] = {k: [] for k in keys}
    for src, dst in edges:
        preds[dst].append(src)
        succs[src].append(dst)
    waiting = {k: len(preds[k]) for k in keys}
    ready = [k for k in reversed(keys) if waiting[k] == 0]
    layer: dict[str, int] = {}
    while len(layer) < len(keys):
        if not ready:  # a cycle: release the first node still waiting, in file order
            ready.append(next(k for k in keys if k not in layer))
        key = ready.pop()
        if key in layer:
            continue
        layer[key] = max((layer[p] + 1 for p in preds[key] if p in layer), default=0)
        for nxt in succs[key]:
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                ready.append(nxt)
    return layer


def _chains(edges: Sequence[tuple[str, str]], layer: dict[str, int],
            sizes: dict[str, tuple[float, float]]) -> list[list[str]]:
    """Return each edge as the list of nodes it passes: dummy points on the layers between."""
    chains, budget = [], DUMMY_BUDGET
    for i, (src, dst) in enumerate(edges):
        span = layer[dst] - layer[src]
        chain = [src]
        if 1 < span <= budget:
            budget -= span - 1
            for step in range(1, span):
                dummy = f"\0{i}.{step}"
                layer[dummy] = layer[src] + step
                sizes[dummy] = (DUMMY_W, 0.0)
                chain.append(dummy)
        chains.append([*chain, dst])
    return chains


def _order(rows: list[list[str]], preds: dict[str, list[str]], succs: dict[str, list[str]]) -> None:
    """Reorder each row by the mean position of its neighbours, sweeping down then up."""
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        span = range(1, len(rows)) if down else range(len(rows) - 2, -1, -1)
        for r in span:
            near = rows[r - 1] if down else rows[r + 1]
            where = {k: i for i, k in enumerate(near)}
            links = preds if down else succs

            def centre(key: str, at: int, links: dict[str, list[str]] = links,
                       where: dict[str, int] = where) -> float:
                seen = [where[n] for n in links.get(key, ()) if n in where]
                return sum(seen) / len(seen) if seen else float(at)

            rows[r] = [k for _, _, k in sorted((centre(k, i), i, k) for i, k in enumerate(rows[r]))]


def _xs(rows: list[list[str]], sizes: dict[str, tuple[float, float]], preds: dict[str, list[str]],
        gap: float) -> dict[str, float]:
    """Return node centres: each over its predecessors, pushed right where it would overlap."""
    x: dict[str, float] = {}
    for row in rows:
        edge: float | None = None
        for key in row:
            half = sizes[key][0] / 2
            seen = [x[p] for p in preds.get(key, ()) if p in x]
            want = sum(seen) / len(seen) if seen else 0.0 if edge is None else edge + gap + half
            x[key] = want if edge is None else max(want, edge + gap + half)
            edge = x[key] + half
    return x


def layout(sizes: Mapping[str, tuple[float, float]], edges: Sequence[tuple[str, str]],
           gap_x: float = 24.0, gap_y: float = 56.0, margin: float = 12.0) -> Layout:
    """Place nodes of the given (width, height) in layers and route edges through their dummies."""
    keys = list(sizes)
    known = [(s, d) for s, d in edges if s in sizes and d in sizes and s != d]
    layer = layers(keys, known)
    size = dict(sizes)
    chains = _chains(known, layer, size)
    preds: dict[str, list[str]] = {}
    succs: dict[str, list[str]] = {}
    for chain in chains:
        for a, b in pairwise(chain):
            preds.setdefault(b, []).append(a)
            succs.setdefault(a, []).append(b)
    rows: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for key in layer:
        rows[layer[key]].append(key)
    _order(rows, preds, succs)
    xs = _xs(rows, size, preds, gap_x)
    left = min((xs[k] - size[k][0] / 2 for k in xs), default=0.0)
    tops, tall, y = {}, {}, margin
    for r, row in enumerate(rows):
        tops[r], tall[r] = y, max((size[k][1] for k in row if k in sizes), default=0.0)
        y += tall[r] + gap_y
    # A dummy is as tall as its row, so that a passing edge runs straight down beside the nodes.
    placed = {k: Placed(x=xs[k] - size[k][0] / 2 - left + margin, y=tops[layer[k]],
                        w=size[k][0], h=size[k][1] if k in sizes else tall[layer[k]]) for k in layer}
    routes = [(c[0], c[-1], _route(c, placed)) for c in chains]
    width = max((p.x + p.w for p in placed.values()), default=0.0) + margin
    return Layout(nodes={k: placed[k] for k in keys}, edges=routes, width=width,
                  height=y - gap_y + margin)


def _route(chain: Sequence[str], placed: Mapping[str, Placed]) -> list[Point]:
    """Return an edge's points: its source's bottom centre, down past dummies, its target's top."""
    first, last = placed[chain[0]], placed[chain[-1]]
    points = [(first.x + first.w / 2, first.y + first.h)]
    for k in chain[1:-1]:
        centre = placed[k].x + placed[k].w / 2
        points += [(centre, placed[k].y), (centre, placed[k].y + placed[k].h)]
    return [*points, (last.x + last.w / 2, last.y)]
