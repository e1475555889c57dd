"""One concept with its neighbourhood: what ``ckg show``, ``GET /v1/concepts/{ref}`` and MCP ``get_concept`` return."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ingest.concepts import Concept, ConceptDoc


class PrerequisiteRef(BaseModel):
    """A stated prerequisite as the theory library writes it (slug, resolution rule, file:line)."""

    id: str
    label: str
    slug: str
    method: str
    file: str
    line: int


class ConceptRef(BaseModel):
    id: str
    label: str


class ConceptDetail(ConceptDoc):
    """The concept document plus stated prerequisites, direct dependents and what it unlocks."""

    prerequisites: list[PrerequisiteRef] = Field(default_factory=list)
    dependents: list[ConceptRef] = Field(default_factory=list)
    unlocks: list[str] = Field(default_factory=list, description="every concept that transitively requires it")
    unlisted_prerequisites: int = 0
    referenced_by: list[str] = Field(default_factory=list)
    resolved: dict[str, Any] | None = Field(None, description="how a reference that named no concept was resolved")


def concept_detail(ws: Any, concept: Concept, resolution: Any = None) -> ConceptDetail:
    cat = ws.catalog
    graph = ws.graph
    return concept.doc(cat.iri(concept.id)).extended(
        ConceptDetail,
        prerequisites=[
            PrerequisiteRef(
                id=p.target, label=cat.concepts[p.target].label, slug=p.slug, method=p.method, file=p.file, line=p.line
            )
            for p in concept.prerequisites
        ],
        dependents=[ConceptRef(id=d, label=cat.concepts[d].label) for d in sorted(graph.predecessors(concept.id))],
        unlocks=sorted(graph.dependents(concept.id)),
        unlisted_prerequisites=concept.unlisted_prerequisites,
        referenced_by=list(concept.referenced_by),
        resolved={**resolution.model_dump(), "note": resolution.note()} if resolution and resolution.guessed else None,
    )
