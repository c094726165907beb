"""SVG drawings for the HTML report: the model graph (``graph.py``) and recurrent cells (``cell.py``).

Every string from a file goes through ``esc``: control characters shown escaped (``terminal``)
and the XML specials as entities, so that a name is text in SVG, in HTML and in attributes.
"""

from __future__ import annotations

import html

from graphcheck.reporters.escape import terminal

FONT = "font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif"
CHAR = 6.6  # average advance of a 11px sans-serif character, to size boxes without a font


def esc(value: object) -> str:
    """Return value as text safe in SVG/HTML content and quoted attributes."""
    return html.escape(terminal(str(value)), quote=True)


def text(x: float, y: float, value: str, cls: str = "", anchor: str = "middle") -> str:
    """Return one <text> element."""
    kind = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{kind}>{esc(value)}</text>'


def rect(x: float, y: float, w: float, h: float, cls: str, rx: float = 6) -> str:
    """Return one rounded <rect> element."""
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{rx}" class="{cls}"/>'


def svg(width: float, height: float, body: list[str], label: str) -> str:
    """Return a standalone-valid <svg> element of the given size."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{esc(label)}" '
            f'style="{FONT}">' + "".join(body) + "</svg>")
