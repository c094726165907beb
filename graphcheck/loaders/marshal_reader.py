"""Describe the Python code a Keras Lambda stores, without running or unmarshalling it.

``marshal.loads`` is not safe on untrusted bytes, so this is a small, bounded reader of the
marshal format that only builds plain values (ints, strings, tuples) and code summaries.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from graphcheck.limits import current as current_limits

MAX_DEPTH = 64
MAX_OBJECTS = 100_000
# Names and strings kept per code object (describe shows 20 and 10): a nested code object
# referenced 49k times, each with 49k names, would otherwise make summaries quadratic.
MAX_KEPT = 64
FLAG_REF = 0x80
# The fields of a marshalled code object before ``co_code``, per CPython version family.
# 3.11+: argcount, posonlyargcount, kwonlyargcount, stacksize, flags.
# 3.8-3.10: argcount, posonlyargcount, kwonlyargcount, nlocals, stacksize, flags.
LAYOUTS = {"3.11+": 5, "3.8-3.10": 6}


class MarshalError(Exception):
    """The bytes are not a marshalled code object this reader understands."""


@dataclass(frozen=True, kw_only=True)
class Code:
    """What a code object would do: its name, where it was written, the names and strings it uses."""

    name: str
    qualname: str
    filename: str
    line: int
    names: tuple[str, ...]
    strings: tuple[str, ...]


@dataclass
class _Placeholder:
    """A reference to an object still being read (only cyclic data can point at one)."""


class _Reader:
    """Reads one marshal stream with a fixed code object layout."""

    def __init__(self, data: bytes, layout: str) -> None:
        """Start at the first byte; ``layout`` picks the code object field list."""
        self.data, self.pos, self.layout = data, 0, layout
        self.refs: list[object] = []
        self.count = 0

    def take(self, size: int) -> bytes:
        """Return the next ``size`` bytes or fail when the data runs out."""
        if size < 0 or self.pos + size > len(self.data):
            raise MarshalError(f"truncated at byte {self.pos}")
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk

    def int32(self) -> int:
        """Read a little-endian signed 32-bit int."""
        value: int = struct.unpack("<i", self.take(4))[0]
        return value

    def obj(self, depth: int = 0) -> object:
        """Read one object, bounded in depth and count."""
        self.count += 1
        if depth > MAX_DEPTH or self.count > MAX_OBJECTS:
            raise MarshalError("nested too deeply or too many objects")
        code = self.take(1)[0]
        kind = chr(code & ~FLAG_REF)
        if kind == "r":
            index = self.int32()
            if not 0 <= index < len(self.refs):
                raise MarshalError(f"bad reference {index}")
            return self.refs[index]
        slot = len(self.refs)
        if code & FLAG_REF:
            self.refs.append(_Placeholder())
        value = self.value(kind, depth)
        if code & FLAG_REF:
            self.refs[slot] = value
        return value

    def value(self, kind: str, depth: int) -> object:
        """Read the body of an object of type ``kind``."""
        simple = {"0": None, "N": None, "F": False, "T": True, "S": None, ".": None}
        if kind in simple:
            return simple[kind]
        if kind in "ilIgfyx":
            return self.number(kind)
        if kind in "stuaAzZ":
            return self.text(kind)
        if kind in "()[<>":
            size = self.take(1)[0] if kind == ")" else self.int32()
            return tuple(self.obj(depth + 1) for _ in range(self.bounded(size)))
        if kind == "{":
            return self.mapping(depth)
        if kind == ":":
            return tuple(self.obj(depth + 1) for _ in range(3))
        if kind == "c":
            return self.code(depth)
        raise MarshalError(f"unknown type byte {kind!r} at byte {self.pos - 1}")

    def bounded(self, size: int) -> int:
        """Reject a count that cannot fit in the bytes left (each item takes at least one)."""
        if size < 0 or size > len(self.data) - self.pos:
            raise MarshalError(f"bad length {size} at byte {self.pos}")
        return size

    def number(self, kind: str) -> object:
        """Read an int or float; the values do not matter, only staying in step."""
        if kind == "i":
            return self.int32()
        if kind == "l":
            digits = self.int32()
            self.take(2 * self.bounded(abs(digits)))
            return 0
        if kind in "fx":
            for _ in range(2 if kind == "x" else 1):
                self.take(self.take(1)[0])
            return 0.0
        self.take({"I": 8, "g": 8, "y": 16}[kind])
        return 0

    def text(self, kind: str) -> object:
        """Read bytes or a string."""
        size = self.take(1)[0] if kind in "zZ" else self.bounded(self.int32())
        raw = self.take(size)
        return raw if kind == "s" else raw.decode("utf-8", "replace")

    def mapping(self, depth: int) -> tuple[object, ...]:
        """Read a dict as a flat tuple of its keys and values (ended by a NULL key)."""
        items: list[object] = []
        while self.data[self.pos:self.pos + 1] not in (b"0", b""):
            items += [self.obj(depth + 1), self.obj(depth + 1)]
        self.take(1)
        return tuple(items)

    def code(self, depth: int) -> Code:
        """Read a code object in this reader's layout and keep what describes it."""
        for _ in range(LAYOUTS[self.layout]):
            self.int32()
        self.obj(depth + 1)  # the bytecode itself, never interpreted
        consts = self.obj(depth + 1)
        names = self.obj(depth + 1)
        for _ in range(2 if self.layout == "3.11+" else 3):
            self.obj(depth + 1)  # local names and kinds, or varnames/freevars/cellvars
        filename, name = self.obj(depth + 1), self.obj(depth + 1)
        qualname = self.obj(depth + 1) if self.layout == "3.11+" else name
        line = self.int32()
        for _ in range(2 if self.layout == "3.11+" else 1):
            self.obj(depth + 1)  # line and exception tables
        if not (isinstance(name, str) and isinstance(filename, str) and isinstance(qualname, str)
                and isinstance(names, tuple) and isinstance(consts, tuple)):
            raise MarshalError("the code object's fields have the wrong types")
        return _summary(name, qualname, filename, line, names, consts)


def _summary(name: str, qualname: str, filename: str, line: int, names: tuple[object, ...],
             consts: tuple[object, ...]) -> Code:
    """Combine a code object's own names and strings with those of the code nested in it.

    Linear whatever the input: a nested code object counts once however often it is referenced
    (marshal refs return the same object), and at most MAX_KEPT of each are kept.
    """
    used: dict[str, None] = {}
    strings: dict[str, None] = {}
    _keep(used, (n for n in names if isinstance(n, str)))
    _keep(strings, (c for c in consts if isinstance(c, str)))
    seen: set[int] = set()
    for inner in consts:
        if isinstance(inner, Code) and id(inner) not in seen:
            seen.add(id(inner))
            _keep(used, inner.names)
            _keep(strings, inner.strings)
    return Code(name=name, qualname=qualname, filename=filename, line=line,
                names=tuple(used), strings=tuple(strings))


def _keep(kept: dict[str, None], values: Iterable[str]) -> None:
    """Add distinct values to ``kept`` until it holds MAX_KEPT."""
    for value in values:
        if len(kept) >= MAX_KEPT:
            return
        kept[value] = None


def read_code(data: bytes) -> Code:
    """Return a summary of the marshalled code object in ``data``, trying each layout."""
    errors = []
    for layout in LAYOUTS:
        reader = _Reader(data, layout)
        try:
            value = reader.obj()
        except (MarshalError, UnicodeDecodeError, KeyError) as error:
            errors.append(f"{layout}: {error}")
            continue
        if isinstance(value, Code):
            return value
        errors.append(f"{layout}: not a code object")
    raise MarshalError("; ".join(errors))


def describe_base64(text: str) -> str:
    """Describe base64-encoded marshalled code in words, or say why it was not decoded."""
    limit = current_limits().max_code_bytes
    if len(text) > limit * 4 // 3 + 4:
        return f"code not decoded: over the {limit}-byte limit (max_code_bytes)"
    try:
        code = read_code(base64.b64decode(text.encode("ascii", "replace"), validate=False))
    except (MarshalError, binascii.Error, ValueError) as error:
        return f"code not decoded ({error})"
    return describe(code)


def describe(code: Code) -> str:
    """Render a code summary: ``function <lambda> (lam.py:3) uses open, write; strings 'w'``."""
    text = f"function {code.qualname} ({code.filename}:{code.line})"
    if code.names:
        text += " uses " + ", ".join(code.names[:20])
    if code.strings:
        text += "; strings " + ", ".join(repr(s[:60]) for s in code.strings[:10])
    return text
