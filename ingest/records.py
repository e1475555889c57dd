"""Typed records produced by the parsers.

Records are immutable and carry a :class:`Locator` so that every fact in the
graph can be traced back to a file and line.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SourceName = Literal["theory-library", "topic-wiki", "working-notes", "concept-library", "research-path"]

#: Source documents in the order their labels are preferred (see resolve).
SOURCE_FILES: dict[str, str] = {
    "theory-library": "theory-library.txt",
    "concept-library": "concept-library.txt",
    "topic-wiki": "topic-wiki.txt",
    "working-notes": "working-notes.txt",
    "research-path": "research-path.txt",
}

LAYERS: tuple[str, ...] = ("0A", "0B", "1", "2", "3", "4", "5")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Locator(Frozen):
    """Where a record came from: a source file name and a 1-based line number."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class SourceRecord(Frozen):
    """One concept mention in one source document."""

    source: SourceName
    locator: Locator
    title: str
    description: str | None = None
    layer: str | None = None
    tier: int | None = None
    minutes: int | None = None
    level: Literal["beginner", "intermediate", "advanced"] | None = None
    module: str | None = None
    premium: bool = False
    #: The raw prerequisite line (theory-library only), without a ``+N`` marker.
    prerequisite_text: str | None = None
    prerequisite_locator: Locator | None = None
    #: Prerequisite slugs as segmented from ``prerequisite_text``.
    prerequisites: tuple[str, ...] = ()
    #: Count from a trailing ``+N`` marker: prerequisites that exist but are not listed.
    unlisted_prerequisites: int = 0
    #: How a parser decided an ambiguous detail, e.g. ``title-split:echo``.
    flags: tuple[str, ...] = ()


class ModuleRecord(Frozen):
    """A theory-library module or a concept-library group."""

    source: SourceName
    locator: Locator
    title: str
    description: str | None = None
    layer_note: str | None = None
    announced_count: int | None = None
    member_count: int = 0


class PhaseRecord(Frozen):
    locator: Locator
    number: int
    title: str
    description: str | None = None


class QuestionRecord(Frozen):
    locator: Locator
    text: str


class StrategyRecord(Frozen):
    locator: Locator
    title: str
    text: str


class PathRecord(Frozen):
    """The research-path document: one ordered learning path."""

    locator: Locator
    kind: str
    title: str
    description: str
    notes: tuple[str, ...] = ()
    phases: tuple[PhaseRecord, ...] = ()
    questions: tuple[QuestionRecord, ...] = ()
    strategy: tuple[StrategyRecord, ...] = ()


class Rejection(Frozen):
    """A record that could not be placed, with where and why."""

    locator: Locator
    reason: str
    text: str = ""


class Notice(Frozen):
    """A warning about a source: not fatal unless ``--strict``."""

    locator: Locator | None = None
    message: str


class ParseResult(BaseModel):
    """Everything one parser made of one source document."""

    source: SourceName
    file: str
    lines_total: int = 0
    records: list[SourceRecord] = Field(default_factory=list)
    modules: list[ModuleRecord] = Field(default_factory=list)
    path: PathRecord | None = None
    rejections: list[Rejection] = Field(default_factory=list)
    warnings: list[Notice] = Field(default_factory=list)
    #: Non-blank lines that hold no record (page chrome), with the reason.
    skipped: list[Rejection] = Field(default_factory=list)
    #: Facts a parser noticed, e.g. announced vs present counts.
    facts: dict[str, int | str] = Field(default_factory=dict)

    @property
    def records_read(self) -> int:
        return len(self.records) + len(self.rejections)
