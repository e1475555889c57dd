"""Parser for ``theory-library.txt``: layered topic blocks grouped in modules.

Block shape (blank lines ignored)::

    L<layer>Tier <tier>~<minutes>m     header
    <Title>
    <Description>
    <all-lowercase glued prerequisite slugs>[+N]   optional

A module header (title case) followed by its one-line description may sit
between two blocks, directly after a description when a topic has no
prerequisites. The prerequisite line is kept raw here; segmenting it into slugs
needs the titles of every source, so :mod:`ingest.pipeline` does that.
"""

from __future__ import annotations

import re
from pathlib import Path

from ingest.reader import Line, begin
from ingest.records import Locator, ModuleRecord, Notice, ParseResult, Rejection, SourceRecord

HEADER = re.compile(r"^L(?P<layer>0A|0B|[1-5])\s*Tier\s*(?P<tier>\d+)\s*~\s*(?P<minutes>\d+)\s*m$")
#: Anything shaped like a header, well-formed or not ("L9Tier x~abcm", "L2Tier 1~65min"): a block boundary.
#: A malformed header rejects its own block and the parser picks up at the next one, instead of the block
#: running on into the previous topic (whose description then became a module of 30-odd concepts).
LOOSE_HEADER = re.compile(r"^L\S{0,3}\s*Tier\b.{0,20}~.{0,20}$")
ANNOUNCED = re.compile(r"^(?P<n>\d+) curriculum topics")
MODULE_LAYER = re.compile(r"\((?P<note>Layer[^)]*)\)\s*$")
UNLISTED = re.compile(r"\+(?P<n>\d+)$")


_SLUG_LINE = re.compile(r"[a-z0-9][a-z0-9 '\-]*")


def is_prerequisite_line(text: str) -> bool:
    """Prerequisite lines are URL slugs: lower-case ASCII letters, digits, spaces and hyphens only (a run
    of stray bytes or a lower-case sentence is not one)."""
    return bool(_SLUG_LINE.fullmatch(UNLISTED.sub("", text).strip()))


def parse_theory_library(path: Path) -> ParseResult:
    src, result = begin(path, "theory-library")
    lines = src.nonblank()
    loc = lambda ln: Locator(file=src.file, line=ln.number)  # noqa: E731

    header_idx = [i for i, ln in enumerate(lines) if LOOSE_HEADER.match(ln.text) or HEADER.match(ln.text)]
    if not header_idx:
        result.rejections.extend(
            Rejection(locator=loc(ln), reason="no topic header (L<layer>Tier <n>~<m>m) in file", text=ln.text)
            for ln in lines
        )
        return result

    # Preamble: everything before the first module header, which is the line
    # two before the first topic header (header + its description).
    first = header_idx[0]
    pre_end = max(first - 2, 0)
    for ln in lines[:pre_end]:
        m = ANNOUNCED.match(ln.text)
        if m:
            result.facts["announced_topics"] = int(m.group("n"))
        result.skipped.append(Rejection(locator=loc(ln), reason="page preamble", text=ln.text))
    module: ModuleRecord | None = None
    if first >= 2:
        module = _module(src.file, lines[first - 2], lines[first - 1])
        result.modules.append(module)
    elif first == 1:
        result.skipped.append(Rejection(locator=loc(lines[0]), reason="page preamble", text=lines[0].text))

    members: dict[str, int] = {}
    for n, start in enumerate(header_idx):
        end = header_idx[n + 1] if n + 1 < len(header_idx) else len(lines)
        header, body = lines[start], lines[start + 1 : end]
        record, next_module = _block(src.file, header, body, module, result)
        if record is not None:
            result.records.append(record)
            if record.module:
                members[record.module] = members.get(record.module, 0) + 1
        if next_module is not None:
            module = next_module
            result.modules.append(module)
    result.modules = [m.model_copy(update={"member_count": members.get(m.title, 0)}) for m in result.modules]

    announced = result.facts.get("announced_topics")
    result.facts["present_topics"] = len(header_idx)
    # A second, independent count: every header-shaped line of the raw file must end as a topic or as a
    # rejected block. (read = placed + rejected holds by construction; this can fail.)
    headers = sum(1 for ln in src.lines if LOOSE_HEADER.match(ln.text) or HEADER.match(ln.text))
    blocks = len(result.records) + sum(1 for r in result.rejections if r.reason.startswith(_BLOCK_REJECTIONS))
    result.facts["header_lines"] = headers
    if headers != blocks:
        result.warnings.append(
            Notice(message=f"{headers} topic header lines but {blocks} topics placed or rejected: a block was lost")
        )
    if isinstance(announced, int) and announced != len(header_idx):
        result.warnings.append(
            Notice(
                message=(
                    f"page announces {announced} curriculum topics but {len(header_idx)} topic "
                    f"blocks are present ({announced - len(header_idx)} missing: partial copy)"
                )
            )
        )
    return result


_BLOCK_REJECTIONS = ("malformed topic header", "topic header with no title")


def looks_like_module(text: str) -> bool:
    """A module header is a short title-case name ("Learning Theory Core", "Foundations (Layer 0A)"), not a
    sentence, a slug line or a stray run of bytes."""
    name = MODULE_LAYER.sub("", text).strip()
    words = name.split()
    return (
        0 < len(words) <= 8
        and len(name) <= 80
        and name[:1].isupper()
        and not re.search(r"[.;:!?]$", name)
        and name.isprintable()
        and sum(w[:1].isupper() for w in words if len(w) > 3) >= max(1, len([w for w in words if len(w) > 3]) - 1)
    )


def _module(file: str, header: Line, description: Line | None) -> ModuleRecord:
    note = MODULE_LAYER.search(header.text)
    title = MODULE_LAYER.sub("", header.text).strip() if note else header.text.strip()
    return ModuleRecord(
        source="theory-library",
        locator=Locator(file=file, line=header.number),
        title=title,
        description=description.text.strip() if description else None,
        layer_note=note.group("note") if note else None,
    )


def _block(
    file: str,
    header: Line,
    body: list[Line],
    module: ModuleRecord | None,
    result: ParseResult,
) -> tuple[SourceRecord | None, ModuleRecord | None]:
    """Parse one topic block; returns the record and a module header found after it."""
    loc = lambda ln: Locator(file=file, line=ln.number)  # noqa: E731
    m = HEADER.match(header.text)
    if not body:
        result.rejections.append(
            Rejection(
                locator=loc(header),
                reason="topic header with no title after it (expected a title line, then a description)",
                text=header.text,
            )
        )
        return None, None

    title, rest = body[0], body[1:]
    description: Line | None = None
    if rest and not is_prerequisite_line(rest[0].text):
        description, rest = rest[0], rest[1:]
    prereq: Line | None = None
    if rest and is_prerequisite_line(rest[0].text):
        prereq, rest = rest[0], rest[1:]

    next_module: ModuleRecord | None = None
    if len(rest) >= 2 and not looks_like_module(rest[-2].text):
        extras = rest  # no module header where one would stand: every leftover line is junk, none a module
    elif len(rest) == 2:
        next_module, extras = _module(file, rest[0], rest[1]), []
    elif len(rest) == 1 and looks_like_module(rest[0].text):
        next_module, extras = _module(file, rest[0], None), []
        result.warnings.append(Notice(locator=loc(rest[0]), message="module header without a description line"))
    else:
        next_module = _module(file, rest[-2], rest[-1]) if len(rest) > 2 else None
        extras = rest[:-2] if len(rest) > 2 else rest
    if extras:
        for extra in extras:
            result.rejections.append(
                Rejection(
                    locator=loc(extra),
                    reason="unexpected line inside a topic block (expected title, description, "
                    "optional prerequisites, then a header or module)",
                    text=extra.text,
                )
            )
    if m is None:
        result.rejections.append(
            Rejection(
                locator=loc(header),
                reason=f"malformed topic header {header.text!r} (expected L<layer>Tier <tier>~<minutes>m, layers "
                f"0A, 0B, 1-5): topic {title.text.strip()!r} skipped, parsing resumes at the next header",
                text=header.text,
            )
        )
        return None, next_module
    flags: list[str] = []
    if description is None:
        flags.append("missing-description")
        result.warnings.append(
            Notice(locator=loc(title), message=f"topic {title.text!r} has no description (truncated block?)")
        )
    unlisted = 0
    prereq_text = None
    if prereq is not None:
        mu = UNLISTED.search(prereq.text)
        unlisted = int(mu.group("n")) if mu else 0
        prereq_text = UNLISTED.sub("", prereq.text).strip()
    record = SourceRecord(
        source="theory-library",
        locator=loc(title),
        title=title.text.strip(),
        description=description.text.strip() if description else None,
        layer=m.group("layer"),
        tier=int(m.group("tier")),
        minutes=int(m.group("minutes")),
        module=module.title if module else None,
        prerequisite_text=prereq_text,
        prerequisite_locator=loc(prereq) if prereq else None,
        unlisted_prerequisites=unlisted,
        flags=tuple(flags),
    )
    return record, next_module
