"""The resolved concept model: one per real-world concept across all sources."""

from __future__ import annotations

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

    def document(self, iri: str) -> dict:
        """The JSON shape of a concept in every output (CLI, HTTP, MCP; see DESIGN.md).

        Asserted fields hold only what sources state; anything inferred sits
        under ``inferred`` / ``inferred_prerequisites`` with method and confidence.
        """
        return {
            "id": self.id,
            "iri": iri,
            "label": self.label,
            "alt_labels": list(self.alt_labels),
            "definition": self.definition,
            "layer": self.layer,
            "tier": self.tier,
            "minutes": self.minutes,
            "level": self.level,
            "modules": list(self.modules),
            "premium": self.premium,
            "sources": [{"source": s.source, "file": s.file, "line": s.line, "title": s.title} for s in self.sources],
            "stub": self.stub,
            "inferred": {k: v.model_dump() for k, v in sorted(self.inferred.items())},
            "inferred_prerequisites": [
                {"id": f.value, "confidence": f.confidence, "method": f.method, "evidence": f.evidence}
                for f in self.inferred_prerequisites
            ],
            "relations": {
                kind: [
                    {"id": f.value, "confidence": f.confidence, "method": f.method, "evidence": f.evidence}
                    for f in facts
                ]
                for kind, facts in sorted(self.relations.items())
            },
        }

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
