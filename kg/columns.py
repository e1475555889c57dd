"""A file of named columns that a new process reads in milliseconds: the catalog's index.

Opening a 100k-concept build spent ~0.8 s in ``json.loads`` of the catalog index
(a million small lists and strings) before a graph-only command could answer.
Here each column is one block of bytes: integers and floats as the stdlib
:mod:`array` stores them (``frombytes`` is a copy), strings as one UTF-8 block
split on NUL, small structures as JSON. No numpy: graph-only commands do not
import it. The bytes depend only on the columns, so two builds of the same
sources write the same file.

Layout: ``MAGIC``, one JSON header line (byte order and, per column, its name,
kind, offset and length into the body and item count), then the body.
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Iterable, Mapping
from typing import Any

from ckg.errors import CkgError

MAGIC = b"ckg-columns 1\n"
#: Kinds: an :mod:`array` type code, ``str`` (strings, never containing NUL) or ``json`` (any JSON value).
NUMERIC = frozenset("biqd")  # int8, int32, int64, float64: one size on every platform CPython runs on
STR = "str"
Column = array | list[str] | Any


class ColumnsError(CkgError):
    """A columns file that cannot be read: damaged, truncated or from an incompatible writer."""


def _encode(name: str, kind: str, values: Any) -> tuple[bytes, int]:
    """The column's bytes and its item count (1 for a JSON value)."""
    if kind in NUMERIC:
        numbers = array(kind, values)
        return numbers.tobytes(), len(numbers)
    if kind == STR:
        strings = list(values)
        bad = next((s for s in strings if "\0" in s), None)
        if bad is not None:
            raise ValueError(f"column {name!r}: string {bad[:40]!r} contains NUL, which separates strings")
        return "\0".join(strings).encode("utf-8"), len(strings)
    if kind == "json":
        return json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8"), 1
    raise ValueError(f"column {name!r}: unknown kind {kind!r}")


def dumps(columns: Mapping[str, tuple[str, Any]]) -> bytes:
    """``{name: (kind, values)}`` as one file's bytes (names in the order given)."""
    header: list[list[Any]] = []
    body: list[bytes] = []
    at = 0
    for name, (kind, values) in columns.items():
        block, count = _encode(name, kind, values)
        header.append([name, kind, at, len(block), count])
        body.append(block)
        at += len(block)
    head = json.dumps({"byteorder": sys.byteorder, "columns": header}, separators=(",", ":")).encode("utf-8")
    return MAGIC + head + b"\n" + b"".join(body)


def loads(data: bytes, *, what: str = "columns file") -> dict[str, Column]:
    """The columns of :func:`dumps`' bytes; :class:`ColumnsError` naming ``what`` when they are not such."""
    if not data.startswith(MAGIC):
        raise ColumnsError(f"{what} is not a columns file (no {MAGIC.strip().decode()!r} header)")
    end = data.find(b"\n", len(MAGIC))
    try:
        head = json.loads(data[len(MAGIC) : end])
        entries: Iterable[list[Any]] = head["columns"]
        byteorder = head["byteorder"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ColumnsError(f"{what} has a damaged header ({exc.__class__.__name__})") from None
    body = memoryview(data)[end + 1 :]
    out: dict[str, Column] = {}
    for name, kind, offset, length, count in entries:
        if offset + length > len(body):
            raise ColumnsError(f"{what} is truncated: column {name!r} ends past the file")
        block = body[offset : offset + length]
        value: Column
        if kind in NUMERIC:
            value = array(kind)
            value.frombytes(block)
            if byteorder != sys.byteorder:
                value.byteswap()
            size = len(value)
        elif kind == STR:
            value = bytes(block).decode("utf-8").split("\0") if count else []
            size = len(value)
        elif kind == "json":
            value, size = json.loads(bytes(block)), 1
        else:
            raise ColumnsError(f"{what}: column {name!r} has unknown kind {kind!r}")
        if size != count:
            raise ColumnsError(f"{what}: column {name!r} holds {size} items, its header says {count}")
        out[name] = value
    return out
