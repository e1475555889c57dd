"""Parse every source, resolve concepts and produce the ingest report.

The pipeline is pure: it reads the sources and returns an :class:`Ingest`.
Writing a build is :mod:`kg.build`'s job, so that parsing can be tested (and
reused) without touching disk.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ckg.errors import SourceError
from ingest.concepts import Concept
from ingest.library import parse_concept_library
from ingest.notes import parse_working_notes
from ingest.records import SOURCE_FILES, Locator, Notice, ParseResult, PathRecord, Rejection, SourceRecord
from ingest.report import FallbackSplit, IngestReport, SourceReport
from ingest.research import parse_research_path
from ingest.resolve import Resolution, resolve
from ingest.theory import parse_theory_library
from ingest.wiki import FALLBACK_RULES, parse_topic_wiki


@dataclass
class Ingest:
    """Everything ingest knows: parse results, resolved concepts, the report."""

    parsed: dict[str, ParseResult]
    records: list[SourceRecord]
    resolution: Resolution
    report: IngestReport

    @property
    def concepts(self) -> list[Concept]:
        return self.resolution.concepts

    @property
    def path(self) -> PathRecord | None:
        pr = self.parsed.get("research-path")
        return pr.path if pr else None


def parse_all(sources: Path) -> tuple[dict[str, ParseResult], list[str]]:
    """Parse the five documents; a source that cannot be read at all is an error, not a crash."""
    parsed: dict[str, ParseResult] = {}
    errors: list[str] = []

    def attempt(name: str, fn, *args) -> None:
        try:
            parsed[name] = fn(sources / SOURCE_FILES[name], *args)
        except SourceError as exc:
            errors.append(str(exc))

    attempt("theory-library", parse_theory_library)
    attempt("concept-library", parse_concept_library)
    attempt("working-notes", parse_working_notes)
    attempt("research-path", parse_research_path)
    # Wiki titles are split with help from every other source's titles and words.
    known = frozenset(r.title for p in parsed.values() for r in p.records)
    context = [t for p in parsed.values() for r in p.records for t in (r.title, r.description or "")]
    attempt("topic-wiki", parse_topic_wiki, known, context)
    return parsed, errors


#: Longest title kept; the longest real one is ~90 characters, so a longer one is a line run together.
MAX_TITLE_CHARS = 200
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def screen(result: ParseResult) -> None:
    """Move records no source could mean into the rejections, with file:line and why: control characters
    (a NUL byte in a label) and titles too long to be one (a megabyte of "A")."""
    kept = []
    for rec in result.records:
        reason = None
        if len(rec.title) > MAX_TITLE_CHARS:
            reason = f"title of {len(rec.title):,} characters (at most {MAX_TITLE_CHARS}): not a title, a run-on line"
        elif _CONTROL.search(rec.title) or _CONTROL.search(rec.description or ""):
            ch = (_CONTROL.search(rec.title) or _CONTROL.search(rec.description or "")).group(0)
            reason = f"control character U+{ord(ch):04X} in the text; remove it from the file"
        if reason is None:
            kept.append(rec)
        else:
            result.rejections.append(Rejection(locator=rec.locator, reason=reason, text=rec.title[:120]))
    result.records = kept


def run(sources: Path) -> Ingest:
    parsed, errors = parse_all(sources)
    for result in parsed.values():
        screen(result)
    records = [r for name in SOURCE_FILES if name in parsed for r in parsed[name].records]
    extra = [m.title for p in parsed.values() for m in p.modules]
    resolution, records = resolve(records, extra)
    if resolution.cycles and "theory-library" in parsed:
        parsed["theory-library"].warnings.extend(
            Notice(locator=Locator(file=c.file, line=c.line), message=c.message) for c in resolution.cycles
        )
    report = _report(parsed, records, resolution, errors)
    return Ingest(parsed=parsed, records=records, resolution=resolution, report=report)


def _report(
    parsed: dict[str, ParseResult],
    records: list[SourceRecord],
    resolution: Resolution,
    errors: list[str],
) -> IngestReport:
    sources: list[SourceReport] = []
    for name in SOURCE_FILES:
        p = parsed.get(name)
        if p is None:
            continue
        if p.path is not None:
            path = p.path
            read = 1 + len(path.phases) + len(path.questions) + len(path.strategy)
            placed, n_concepts = read, 0
        else:
            read = p.records_read
            placed = sum(1 for r in p.records if str(r.locator) in resolution.placement)
            n_concepts = len({resolution.placement[str(r.locator)] for r in p.records})
        sources.append(
            SourceReport(
                source=name,
                file=p.file,
                lines=p.lines_total,
                records_read=read,
                records_placed=placed,
                records_rejected=len(p.rejections),
                concepts=n_concepts,
                skipped_lines=len(p.skipped),
                rejections=p.rejections,
                warnings=p.warnings,
                facts=p.facts,
            )
        )
    fallback = [
        FallbackSplit(
            locator=str(r.locator),
            rule=r.flags[0].split(":", 1)[1],
            title=r.title,
            description_start=(r.description or "")[:60],
        )
        for r in records
        if r.source == "topic-wiki" and r.flags and r.flags[0].split(":", 1)[1] in FALLBACK_RULES
    ]
    return IngestReport(
        sources=sources,
        concepts=len(resolution.concepts),
        stubs=resolution.stubs,
        merges=resolution.merges,
        edges=sum(len(c.prerequisites) for c in resolution.concepts),
        slug_methods=dict(Counter(s.method for s in resolution.slug_resolutions)),
        wiki_fallback_splits=fallback,
        errors=errors,
    )
