r"""One escaping policy per output kind, used by every reporter.

Names and strings come from hostile files: a layer called ``\x1b]52;...`` would drive the
reader's terminal, one holding a lone surrogate cannot be encoded at all. Two policies:

- ``terminal``: for anything a person or a CI log reads (text, markdown, GitHub annotations,
  JUnit, explain): every control character (C0, DEL, C1), bidirectional override, XML-invalid
  noncharacter and lone surrogate is shown as ``\xNN`` or ``\uNNNN``; the result is printable
  and valid in XML 1.0.
- ``surrogates``: for JSON and SARIF, whose encoder already escapes control characters: lone
  surrogates (a file name that is not UTF-8, a broken layer name) are shown as ``\xNN`` or
  ``\uNNNN`` text, so that the document is valid UTF-8 for strict parsers.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from graphcheck.findings import Finding

_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                     "\ufeff\ufffe\uffff\ud800-\udfff]")


def _shown(match: re.Match[str]) -> str:
    """Spell one character as an escape; an undecodable file-name byte shows as that byte."""
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the byte os.fsdecode could not decode
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal(text: str, keep: str = "") -> str:
    """Return text with every non-printing or unencodable character, but ``keep``, shown escaped."""
    return _UNSAFE.sub(lambda m: m.group() if m.group() in keep else _shown(m), text)


def surrogates(text: str) -> str:
    """Return text with lone surrogates shown escaped (valid UTF-8 whatever the input)."""
    return _SURROGATE.sub(_shown, text)


def json_value(value: Any) -> Any:
    """Return a JSON-ready value with every string (keys too) passed through ``surrogates``."""
    if isinstance(value, str):
        return surrogates(value)
    if isinstance(value, dict):
        return {json_value(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value


def clean_finding(finding: Finding, policy: Any = terminal) -> Finding:
    """Return a finding whose path, layer and message went through ``policy``."""
    node = None if finding.node is None else policy(finding.node)
    return replace(finding, path=policy(finding.path), node=node, message=policy(finding.message))
