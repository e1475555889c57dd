"""The resolved concept model: one per real-world concept across all sources."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field


class SourceRef(BaseModel):
    """One source record a concept was derived from."""

    model_config = ConfigDict(frozen=True)

    source: str
    file: str
    line: int
    title: str
    description: str | None = None


class Prerequisite(BaseModel):
    """An asserted prerequisite edge as read from a theory-library prerequisite line."""

    model_config = ConfigDict(frozen=True)

    target: str
    slug: str
    method: str
    file: str
    line: int


class InferredFact(BaseModel):
    """A value or prerequisite no source states, with how it was inferred and how sure we are."""

    model_config = ConfigDict(frozen=True)

    value: str | int
    confidence: float
    method: str
    evidence: str = ""


class Concept(BaseModel):
    """A concept with every label, attribute and source record that names it."""

    id: str
    label: str
    alt_labels: list[str] = Field(default_factory=list)
    definition: str | None = None
    layer: str | None = None
    tier: int | None = None
    minutes: int | None = None
    level: str | None = None
    modules: list[str] = Field(default_factory=list)
    premium: bool = False
    stub: bool = False
    sources: list[SourceRef] = Field(default_factory=list)
    prerequisites: list[Prerequisite] = Field(default_factory=list)
    unlisted_prerequisites: int = 0
    #: For stubs: the concepts whose prerequisite lines reference this one.
    referenced_by: list[str] = Field(default_factory=list)
    problem_statement: str | None = None
    #: Inferred layer / minutes / module ("layer", "minutes", "module"); never mixed into the asserted fields.
    inferred: dict[str, InferredFact] = Field(default_factory=dict)
    #: Inferred prerequisites (value = target id), highest confidence first.
    inferred_prerequisites: list[InferredFact] = Field(default_factory=list)
    #: Inferred taxonomy (value = other concept id) by kind: broader, narrower, related, same_topic.
    relations: dict[str, list[InferredFact]] = Field(default_factory=dict)

    def doc(self, iri: str) -> ConceptDoc:
        """The one document of a concept that every output renders (CLI, HTTP, MCP, Parquet, GraphML)."""
        layer, layer_inferred = self.layer_with_flag()
        minutes, minutes_inferred = self.minutes_with_flag()
        level, level_inferred = self.level_with_flag()
        modules, modules_inferred = list(self.modules), False
        if not modules and "module" in self.inferred:
            modules, modules_inferred = [str(self.inferred["module"].value)], True

        def link(f: InferredFact) -> InferredLink:
            return InferredLink(id=str(f.value), confidence=f.confidence, method=f.method, evidence=f.evidence)

        return ConceptDoc(
            id=self.id,
            iri=iri,
            label=self.label,
            alt_labels=list(self.alt_labels),
            definition=self.definition,
            layer=layer,
            layer_inferred=layer_inferred,
            tier=self.tier,
            minutes=minutes,
            minutes_inferred=minutes_inferred,
            level=level,
            level_inferred=level_inferred,
            modules=modules,
            modules_inferred=modules_inferred,
            premium=self.premium,
            stub=self.stub,
            sources=[SourceCitation(source=s.source, file=s.file, line=s.line, title=s.title) for s in self.sources],
            inferred={k: v for k, v in sorted(self.inferred.items())},
            inferred_prerequisites=[link(f) for f in self.inferred_prerequisites],
            relations={kind: [link(f) for f in facts] for kind, facts in sorted(self.relations.items())},
        )

    def document(self, iri: str) -> dict:
        """:meth:`doc` as plain JSON types."""
        return self.doc(iri).model_dump(mode="json")

    def descriptions(self) -> list[tuple[str, SourceRef | None]]:
        """Every distinct description of the concept, the catalog's definition first, with the record
        that gave it (None for the definition itself). Search indexes them all: a merged concept
        keeps each source's wording."""
        from ingest.text import fold

        out: list[tuple[str, SourceRef | None]] = []
        seen: set[str] = set()
        if self.definition:
            out.append((self.definition, None))
            seen.add(" ".join(fold(self.definition).split()))
        for s in self.sources:
            if s.description and (key := " ".join(fold(s.description).split())) not in seen:
                seen.add(key)
                out.append((s.description, s))
        return out

    def layer_with_flag(self) -> tuple[str | None, bool]:
        """The asserted layer, else the inferred one; the flag says which."""
        if self.layer is not None or "layer" not in self.inferred:
            return self.layer, False
        return str(self.inferred["layer"].value), True

    def level_with_flag(self) -> tuple[str | None, bool]:
        """The stated level, else the one derived from the layer; the flag says which."""
        if self.level is not None or "level" not in self.inferred:
            return self.level, False
        return str(self.inferred["level"].value), True

    def minutes_with_flag(self) -> tuple[int | None, bool]:
        """The asserted study time, else the inferred one; the flag says which."""
        if self.minutes is not None or "minutes" not in self.inferred:
            return self.minutes, False
        return int(self.inferred["minutes"].value), True


class SourceCitation(BaseModel):
    """A source record a concept comes from, as outputs cite it."""

    source: str
    file: str
    line: int
    title: str


class InferredLink(BaseModel):
    """An inferred relation to another concept (prerequisite, broader, related, same topic)."""

    id: str
    confidence: float
    method: str
    evidence: str = ""


class ConceptDoc(BaseModel):
    """A concept as every output shows it; one JSON Schema (``ckg schema``, ``/v1/schema/concept``).

    ``layer``, ``minutes``, ``level`` and ``modules`` hold the stated value, else the inferred
    one; the ``*_inferred`` flag says which, and ``inferred`` gives method, confidence and
    evidence of each inferred value. Search hits, plan items and context items are this
    document plus fields of their own.
    """

    id: str = Field(description="Stable concept id (a slug)")
    iri: str
    label: str
    alt_labels: list[str] = Field(default_factory=list)
    definition: str | None = None
    layer: str | None = Field(None, description='Curriculum layer "0A", "0B", "1".."5"')
    layer_inferred: bool = False
    tier: int | None = None
    minutes: int | None = Field(None, description="Study time in minutes")
    minutes_inferred: bool = False
    level: str | None = None
    level_inferred: bool = False
    modules: list[str] = Field(default_factory=list)
    modules_inferred: bool = False
    premium: bool = False
    stub: bool = Field(False, description="Only referenced by a prerequisite line; no source describes it")
    sources: list[SourceCitation] = Field(default_factory=list)
    inferred: dict[str, InferredFact] = Field(default_factory=dict)
    inferred_prerequisites: list[InferredLink] = Field(default_factory=list)
    relations: dict[str, list[InferredLink]] = Field(default_factory=dict)

    @classmethod
    def fields(cls) -> list[str]:
        return list(cls.model_fields)

    def extended(self, kind: type[_Doc], **extra: object) -> _Doc:
        """This document as a subclass (a search hit, a plan item...) with its own fields added.

        Not validated again: the document already is, and ``extra`` comes from ckg's own code (a search
        builds ten of these per query; validating them cost more than the search)."""
        return kind.model_construct(**dict(self), **extra)


_Doc = TypeVar("_Doc", bound=ConceptDoc)
