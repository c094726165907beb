"""Shape functions for recurrent cells called on their own: ``cell(x, states)`` for one step."""

from __future__ import annotations

from dataclasses import replace

from graphcheck.graph import Shape
from graphcheck.recurrent_facts import CELL_CLASSES
from graphcheck.shapes import Call, LayerShapes, WeightSpec, register
from graphcheck.shapes.dims import require_rank
from graphcheck.shapes.keras.recurrent import CellInfo, cell_from, cell_weights
from graphcheck.shapes.keras.wrappers import sublayer_groups


def _step(call: Call, cells: list[CellInfo], stacked: bool) -> LayerShapes:
    """One step of a cell stack: (B, F) -> the last cell's (B, units), then every new state."""
    shape = call.single()
    require_rank(shape, (2,), call.layer.type)
    batch, feed = shape
    weights: list[WeightSpec] = []
    groups = sublayer_groups([cell.kind + "Cell" for cell in cells])
    for index, (cell, group) in enumerate(zip(cells, groups)):
        path, prefix = "cell", ""
        if stacked:  # Keras 3 stores each cell under cells/<snake_case class>[_n]
            path, prefix = f"cell/cells/{group}", f"cells[{index}]/"
        weights += [replace(s, path=s.path.removeprefix("cell/")) for s in
                    cell_weights(cell, feed, path, prefix)]
        feed = cell.units
    outputs: list[Shape] = [(batch, cells[-1].units)]
    outputs += [(batch, c.units) for c in cells for _ in range(c.states)]
    return LayerShapes(outputs=tuple(outputs), weights=tuple(weights))


@register("keras", *CELL_CLASSES)
def single_cell(call: Call) -> LayerShapes:
    """LSTMCell/GRUCell/SimpleRNNCell(x, states): (B, units) and the new states."""
    cell = cell_from({"class_name": call.layer.type, "config": call.config})
    return _step(call, [cell], stacked=False)


@register("keras", "StackedRNNCells")
def stacked_cells(call: Call) -> LayerShapes:
    """StackedRNNCells(x, states): each cell feeds the next; every cell's new states follow."""
    entries = call.config.get("cells")
    cells = [cell_from(e) for e in entries] if isinstance(entries, list) else [cell_from(entries)]
    return _step(call, cells, stacked=True)
