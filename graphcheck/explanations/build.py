"""Build the explain view model of one analysed file: the table, the stories and the cells."""

from __future__ import annotations

from graphcheck.explanations import EXPLANATIONS, Explained
from graphcheck.explanations.report import ModelReport, NodeReport
from graphcheck.explanations.views import NodeView, nodes, total_params
from graphcheck.results import FileResult


def build(result: FileResult) -> ModelReport:
    """Return what explain shows about one file; ``error`` says why when it could not be read."""
    findings = tuple(result.findings)
    format_ = None if result.model is None else result.model.format
    if result.model is None or result.inference is None:
        return ModelReport(path=result.path, format=format_, findings=findings,
                           error="; ".join(f.message for f in result.findings))
    views = list(nodes(result.model, result.inference))
    return ModelReport(path=result.path, format=format_, findings=findings,
                       nodes=tuple(node_report(v) for v in views),
                       outputs=tuple(result.inference.outputs), total_params=total_params(views))


def explained(view: NodeView) -> Explained:
    """Run the explanation registered for the layer's framework and type; nothing if none is."""
    explain = EXPLANATIONS.get((view.framework, view.type))
    return Explained() if explain is None else explain(view)


def node_report(view: NodeView) -> NodeReport:
    """Return one layer's row, story and cells."""
    told = explained(view)
    call = view.node.calls[0] if view.node.calls else None
    return NodeReport(name=view.name, type=view.type, inputs=view.inputs,
                      input_shapes=() if call is None else call.inputs,
                      output_shapes=view.output_shapes, params=view.params,
                      weights=dict(view.weights), parent=view.parent, depth=view.depth,
                      story=told.story, cells=told.cells, merge_mode=told.merge_mode)
