"""One output-format option for every command: table for people, JSON for machines."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any


class Format(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    tsv = "tsv"


def _cell(value: Any, width: int = 60) -> str:
    if value is None:
        return ""
    if isinstance(value, dict) or (isinstance(value, list | tuple) and any(isinstance(v, dict) for v in value)):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    elif isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    text = str(value).replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


#: Never shortened in a table: what a user copies into the next command.
WHOLE = frozenset({"id", "iri", "marker"})


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Aligned columns; long text is shortened with "…", identifiers never are."""
    cells = [[_cell(r.get(c), 10**9 if c in WHOLE else 60) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def emit(rows: Iterable[dict[str, Any]], fmt: Format, columns: Sequence[str], *, document: Any = None) -> None:
    """Write ``rows`` to stdout; ``document`` (if given) is what ``json`` prints instead of the list."""
    rows = list(rows)
    out = sys.stdout
    if fmt is Format.json:
        out.write(
            json.dumps(document if document is not None else rows, indent=2, ensure_ascii=False, default=str) + "\n"
        )
    elif fmt is Format.jsonl:
        for r in rows:
            out.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
    elif fmt in (Format.csv, Format.tsv):
        buf = io.StringIO()
        w = csv.writer(buf, delimiter="," if fmt is Format.csv else "\t", lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow([_cell(r.get(c), 10**9) for c in columns])
        out.write(buf.getvalue())
    else:
        out.write(table(rows, columns) + "\n")


def message(text: str) -> None:
    """Messages go to stderr so stdout stays machine-readable."""
    sys.stderr.write(text.rstrip("\n") + "\n")
