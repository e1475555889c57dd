"""Parser for ``research-path.txt``: one learning path with phases, questions and strategy."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.reader import begin
from ingest.records import (
    Locator,
    Notice,
    ParseResult,
    PathRecord,
    PhaseRecord,
    QuestionRecord,
    Rejection,
    StrategyRecord,
)

PHASE = re.compile(r"^Phase (?P<n>\d+):\s*(?P<title>.+)$")
SECTIONS = {"Representative questions": "questions", "Strategy": "strategy"}


def parse_research_path(path: Path) -> ParseResult:
    src, result = begin(path, "research-path")
    lines = src.nonblank()
    loc = lambda ln: Locator(file=src.file, line=ln.number)  # noqa: E731
    if len(lines) < 3:
        result.rejections.extend(
            Rejection(locator=loc(ln), reason="research path needs a kind, a title and a description", text=ln.text)
            for ln in lines
        )
        return result

    kind, title, description = lines[0], lines[1], lines[2]
    notes: list[str] = []
    phases: list[PhaseRecord] = []
    questions: list[QuestionRecord] = []
    strategy: list[StrategyRecord] = []
    section = "intro"
    for ln in lines[3:]:
        if ln.text in SECTIONS:
            section = SECTIONS[ln.text]
            continue
        m = PHASE.match(ln.text)
        if m:
            section = "phase"
            phases.append(PhaseRecord(locator=loc(ln), number=int(m.group("n")), title=m.group("title").strip()))
            continue
        bullet = ln.text[2:].strip() if ln.text.startswith("- ") else None
        if section == "intro":
            notes.append(ln.text)
        elif section == "phase" and phases and phases[-1].description is None:
            phases[-1] = phases[-1].model_copy(update={"description": ln.text})
        elif section == "questions" and bullet:
            questions.append(QuestionRecord(locator=loc(ln), text=bullet))
        elif section == "strategy" and bullet:
            head, _, rest = bullet.partition(". ")
            strategy.append(StrategyRecord(locator=loc(ln), title=head.rstrip("."), text=rest or head))
        elif bullet is None and section in ("questions", "strategy"):
            notes.append(ln.text)
        else:
            result.skipped.append(Rejection(locator=loc(ln), reason=f"section text ({section})", text=ln.text))
    order = [p.number for p in phases]
    if order != list(range(1, len(phases) + 1)):
        result.warnings.append(
            Notice(
                locator=phases[0].locator if phases else None,
                message=f"phases are numbered {order}, expected 1..{len(phases)}",
            )
        )
    result.path = PathRecord(
        locator=loc(title),
        kind=kind.text,
        title=title.text,
        description=description.text,
        notes=tuple(notes),
        phases=tuple(phases),
        questions=tuple(questions),
        strategy=tuple(strategy),
    )
    result.facts.update(phases=len(phases), questions=len(questions), strategy=len(strategy))
    return result
