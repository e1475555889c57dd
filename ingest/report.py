"""The ingest report: what was read, placed, merged, stubbed, rejected and why."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ingest.records import Notice, Rejection
from ingest.resolve import Merge, StubInfo


class SourceReport(BaseModel):
    source: str
    file: str
    lines: int
    records_read: int
    records_placed: int
    records_rejected: int
    concepts: int
    skipped_lines: int
    rejections: list[Rejection] = Field(default_factory=list)
    warnings: list[Notice] = Field(default_factory=list)
    facts: dict[str, int | str] = Field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return self.records_read == self.records_placed + self.records_rejected

    @property
    def reconciliation(self) -> str:
        mark = "ok" if self.balanced else "MISMATCH"
        return (
            f"{self.file}: read {self.records_read} = placed {self.records_placed} "
            f"+ rejected {self.records_rejected} ({mark})"
        )


class FallbackSplit(BaseModel):
    locator: str
    rule: str
    title: str
    description_start: str


class IngestReport(BaseModel):
    sources: list[SourceReport]
    concepts: int
    stubs: list[StubInfo]
    merges: list[Merge]
    edges: int
    slug_methods: dict[str, int]
    wiki_fallback_splits: list[FallbackSplit]
    errors: list[str] = Field(default_factory=list)

    @property
    def rejected(self) -> int:
        return sum(s.records_rejected for s in self.sources)

    @property
    def warnings(self) -> int:
        return sum(len(s.warnings) for s in self.sources)

    def summary_lines(self) -> list[str]:
        out = [
            f"concepts: {self.concepts} ({len(self.stubs)} stubs), prerequisite edges: {self.edges}, "
            f"merges: {len(self.merges)}",
        ]
        for s in self.sources:
            out.append(f"  {s.reconciliation}; {s.concepts} concepts, {s.skipped_lines} page lines skipped")
            out.extend(f"    rejected {r.locator}: {r.reason}" for r in s.rejections)
            out.extend(f"    warning {n.locator or s.file}: {n.message}" for n in s.warnings)
        methods = ", ".join(f"{k} {v}" for k, v in sorted(self.slug_methods.items()))
        out.append(f"prerequisite slugs resolved by: {methods}")
        out.append(f"topic-wiki title splits decided by a fallback rule: {len(self.wiki_fallback_splits)}")
        out.extend(f"error: {e}" for e in self.errors)
        return out
