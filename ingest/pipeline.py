"""Parse every source, resolve concepts and produce the ingest report.

The pipeline is pure: it reads the sources and returns an :class:`Ingest`.
Writing a build is :mod:`kg.build`'s job, so that parsing can be tested (and
reused) without touching disk.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ckg.errors import SourceError
from ingest.concepts import Concept
from ingest.library import parse_concept_library
from ingest.notes import parse_working_notes
from ingest.records import SOURCE_FILES, Locator, Notice, ParseResult, PathRecord, SourceRecord
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


def run(sources: Path) -> Ingest:
    parsed, errors = parse_all(sources)
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
