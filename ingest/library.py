"""Parser for ``concept-library.txt``: groups of entries with level, minutes and a Pro flag.

Entry shape::

    -
    [Pro]
    <Title>
    <Description>
    <beginner|intermediate|advanced> · <N> min

Groups announce a count (``Deep Learning 6 concepts``); locked groups list
fewer entries than they announce, which is reported, not invented.
"""

from __future__ import annotations

import re
from pathlib import Path

from ingest.reader import Line, begin
from ingest.records import Locator, ModuleRecord, Notice, ParseResult, Rejection, SourceRecord

GROUP = re.compile(r"^(?P<name>.+?) (?P<n>\d+) concepts?$")
LEVEL = re.compile(r"^(?P<level>beginner|intermediate|advanced)\s*·\s*(?P<minutes>\d+)\s*min$")


def parse_concept_library(path: Path) -> ParseResult:
    src, result = begin(path, "concept-library")
    lines = src.nonblank()
    loc = lambda ln: Locator(file=src.file, line=ln.number)  # noqa: E731

    i = 0
    while i < len(lines) and not GROUP.match(lines[i].text):
        result.skipped.append(Rejection(locator=loc(lines[i]), reason="page preamble", text=lines[i].text))
        i += 1
    groups: list[tuple[ModuleRecord, int]] = []
    group: ModuleRecord | None = None
    members = 0
    while i < len(lines):
        ln = lines[i]
        m = GROUP.match(ln.text)
        if m:
            if group is not None:
                groups.append((group, members))
            desc = lines[i + 1].text if i + 1 < len(lines) and lines[i + 1].text != "-" else None
            group = ModuleRecord(
                source="concept-library",
                locator=loc(ln),
                title=m.group("name").strip(),
                description=desc,
                announced_count=int(m.group("n")),
            )
            members = 0
            i += 2 if desc is not None else 1
            continue
        if ln.text == "-":
            entry, i = _entry(lines, i + 1, src.file, group, result)
            if entry is not None:
                result.records.append(entry)
                members += 1
            continue
        result.rejections.append(
            Rejection(
                locator=loc(ln),
                reason="unexpected line (expected '-' before an entry or a '<Group> <N> concepts' header)",
                text=ln.text,
            )
        )
        i += 1
    if group is not None:
        groups.append((group, members))

    for g, n in groups:
        result.modules.append(g.model_copy(update={"member_count": n}))
        if g.announced_count is not None and n < g.announced_count:
            result.warnings.append(
                Notice(
                    locator=g.locator,
                    message=(
                        f"group {g.title!r} announces {g.announced_count} concepts but lists {n} "
                        f"({g.announced_count - n} locked or missing)"
                    ),
                )
            )
    result.facts["groups"] = len(groups)
    result.facts["announced_entries"] = sum(g.announced_count or 0 for g, _ in groups)
    return result


def _entry(
    lines: list[Line], i: int, file: str, group: ModuleRecord | None, result: ParseResult
) -> tuple[SourceRecord | None, int]:
    """Parse the entry starting at ``lines[i]``; returns it and the index after it."""
    start = i
    body: list[Line] = []
    while i < len(lines) and lines[i].text != "-" and not GROUP.match(lines[i].text):
        body.append(lines[i])
        i += 1
    premium = bool(body) and body[0].text == "Pro"
    if premium:
        body = body[1:]
    level = LEVEL.match(body[-1].text) if body else None
    if level:
        body = body[:-1]
    anchor = lines[start] if start < len(lines) else lines[start - 1]
    if not body:
        result.rejections.append(
            Rejection(
                locator=Locator(file=file, line=anchor.number),
                reason="entry separator '-' with no title after it",
                text=anchor.text,
            )
        )
        return None, i
    title, desc = body[0], body[1] if len(body) > 1 else None
    flags: list[str] = []
    if level is None:
        flags.append("missing-level")
        result.warnings.append(
            Notice(
                locator=Locator(file=file, line=title.number),
                message=f"entry {title.text!r} has no '<level> · <N> min' line",
            )
        )
    for extra in body[2:]:
        result.warnings.append(
            Notice(
                locator=Locator(file=file, line=extra.number), message="extra line in entry kept out of its description"
            )
        )
    record = SourceRecord(
        source="concept-library",
        locator=Locator(file=file, line=title.number),
        title=title.text.strip(),
        description=desc.text.strip() if desc else None,
        level=level.group("level") if level else None,  # type: ignore[arg-type]
        minutes=int(level.group("minutes")) if level else None,
        module=group.title if group else None,
        premium=premium,
        flags=tuple(flags),
    )
    return record, i
