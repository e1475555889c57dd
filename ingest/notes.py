"""Parser for ``working-notes.txt``: a preamble, then title / problem-statement pairs."""

from __future__ import annotations

from pathlib import Path

from ingest.reader import begin
from ingest.records import Locator, Notice, ParseResult, Rejection, SourceRecord

NAVIGATION = frozenset({"Topics", "Notes", "Linked"})


def parse_working_notes(path: Path) -> ParseResult:
    src, result = begin(path, "working-notes")
    lines = src.nonblank()
    # The preamble is the opening paragraph plus the page's navigation words.
    start = 0
    while start < len(lines) and (start == 0 or lines[start].text in NAVIGATION):
        result.skipped.append(
            Rejection(
                locator=Locator(file=src.file, line=lines[start].number),
                reason="page preamble" if start == 0 else "page navigation",
                text=lines[start].text,
            )
        )
        start += 1
    body = lines[start:]
    for k in range(0, len(body) - 1, 2):
        title, statement = body[k], body[k + 1]
        result.records.append(
            SourceRecord(
                source="working-notes",
                locator=Locator(file=src.file, line=title.number),
                title=title.text.strip(),
                description=statement.text.strip(),
            )
        )
    if len(body) % 2:
        last = body[-1]
        result.records.append(
            SourceRecord(
                source="working-notes",
                locator=Locator(file=src.file, line=last.number),
                title=last.text.strip(),
                flags=("missing-description",),
            )
        )
        result.warnings.append(
            Notice(
                locator=Locator(file=src.file, line=last.number),
                message="title without a problem statement after it (truncated file?)",
            )
        )
    return result
