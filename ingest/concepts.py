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
