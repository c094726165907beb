"""The HTML report's fixed parts: its style sheet, its script and its security policy.

The policy forbids every fetch (``default-src 'none'``): the report is one file that works
offline, and nothing a hostile name might smuggle in could load anything. Inline style and
script are allowed because they are ours and constant; no file data is ever put in the script.
"""

from __future__ import annotations

POLICY = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
          "img-src data:")

CSS = """
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--soft:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;
  color:var(--fg);background:var(--bg)}
header{padding:16px 24px;border-bottom:1px solid var(--line);background:var(--soft)}
header h1{margin:0;font-size:20px}
main{padding:8px 24px 40px}
section.model{margin:16px 0 32px}
h2{font-size:18px;margin:20px 0 4px;word-break:break-all}
h3{font-size:15px;margin:22px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.meta,.note{color:var(--muted)}
.badge{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;font-weight:600}
.badge.error{background:#fde2e1;color:#a40e26}.badge.warning{background:#fff4d6;color:#7d4e00}
.badge.note{background:#e3f0ff;color:#0a3069}.badge.clean{background:#dafbe1;color:#116329}
.scroll{overflow:auto;max-height:80vh;border:1px solid var(--line);border-radius:6px;
  padding:4px;background:#fff}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{white-space:nowrap} td.names{overflow-wrap:anywhere;min-width:8em}
th{background:var(--soft)} td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.error td:first-child{border-left:4px solid #c62828}tr.warning td:first-child{border-left:4px solid #b7791f}
tr.note td:first-child{border-left:4px solid #1f6feb}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:var(--soft);padding:8px;border-radius:6px;white-space:pre-wrap;overflow-wrap:anywhere}
details{margin:6px 0}summary{cursor:pointer}
details.nested{border-left:3px solid #8250df;padding-left:10px}
figure{margin:8px 0 16px}figcaption{color:var(--muted)}
.error-text{color:#a40e26}
svg .layer{fill:#fff;stroke:#8c959f}svg .recurrent{fill:#eef7ee;stroke:#2e7d32;stroke-width:1.5}
svg .error{fill:#fde2e1;stroke:#c62828;stroke-width:2.5}
svg .warning{fill:#fff4d6;stroke:#b7791f;stroke-width:2}
svg .note{fill:#e3f0ff;stroke:#1f6feb;stroke-width:1.5}
svg .inner{fill:none;stroke:#8250df;stroke-width:1}
svg .edge,svg .flow,svg .thin{fill:none;stroke:#57606a;stroke-width:1.2}
svg .thin{stroke-width:.8;stroke:#8c959f}
svg .head{fill:#57606a}
svg text{font-size:11px;fill:#1f2328}svg .name{font-weight:600}svg .kind,svg .label{fill:#57606a}
svg .shape{font-size:10px;fill:#0a3069;paint-order:stroke;stroke:#fff;stroke-width:3px}
svg .title{font-size:12px;font-weight:600}svg .formula{font:12px ui-monospace,monospace}
svg .said{fill:#1f2328}
svg .vector{fill:#f6f8fa;stroke:#57606a}svg .matrix{fill:none;stroke:#1f2328}
svg .cell{fill:#eef7ee;stroke:#2e7d32}svg .cell.final{stroke-width:2.5}
svg .ellipsis{font-size:22px}
svg .gate{stroke:none}svg rect.gate{stroke:#fff;stroke-width:.5}
svg .g0{fill:#cfe3ff}svg .g1{fill:#ffd8b5}svg .g2{fill:#d5f5d0}svg .g3{fill:#f3d1f4}
svg a{cursor:pointer}
"""

# Following a link to a collapsed section (a nested model, a rule), from the page or from the
# address (report.html#rule-GC101), opens it and the sections around it.
SCRIPT = """
function reveal(id) {
  for (var node = document.getElementById(id); node; node = node.parentElement) {
    if (node.tagName === 'DETAILS') node.open = true;
  }
}
document.addEventListener('click', function (event) {
  var link = event.target.closest('a[href^="#"]');
  if (link) reveal(link.getAttribute('href').slice(1));
});
window.addEventListener('hashchange', function () { reveal(location.hash.slice(1)); });
reveal(location.hash.slice(1));
"""
