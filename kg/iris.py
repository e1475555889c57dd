"""IRIs minted for the data under a configurable base IRI.

Identical inputs give identical IRIs: every IRI derives from a stable id (a
concept id, a source name, a line number), never from a counter or a hash of
run-time state.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.text import slugify

GRAPH_NAMES = ("theory-library", "concept-library", "topic-wiki", "working-notes", "research-path")
MERGED, INFERRED = "merged", "inferred"


@dataclass(frozen=True)
class Iris:
    base: str

    def __post_init__(self) -> None:
        if not self.base.endswith(("/", "#")):
            object.__setattr__(self, "base", self.base + "/")

    def concept(self, cid: str) -> str:
        return f"{self.base}concept/{cid}"

    def concept_id(self, iri: str) -> str | None:
        prefix = f"{self.base}concept/"
        return iri[len(prefix) :] if iri.startswith(prefix) else None

    def graph(self, name: str) -> str:
        return f"{self.base}graph/{name}"

    def layer(self, code: str) -> str:
        return f"{self.base}layer/L{code}"

    def module(self, source: str, title: str) -> str:
        kind = "group" if source == "concept-library" else "module"
        return f"{self.base}{kind}/{slugify(title)}"

    def source(self, name: str) -> str:
        return f"{self.base}source/{name}"

    def record(self, source: str, line: int) -> str:
        return f"{self.base}record/{source}/{line}"

    def link(self, source_id: str, target_id: str) -> str:
        return f"{self.base}link/{source_id}/{target_id}"

    def inferred(self, subject_id: str, prop: str, value: str = "") -> str:
        """The ``ckg:InferredLink`` node of one inferred fact about ``subject_id``."""
        return f"{self.base}inferred/{prop}/{subject_id}" + (f"/{value}" if value else "")

    def path(self, title: str) -> str:
        return f"{self.base}path/{slugify(title)}"

    def phase(self, path_title: str, number: int) -> str:
        return f"{self.path(path_title)}/phase/{number}"

    def question(self, path_title: str, n: int) -> str:
        return f"{self.path(path_title)}/question/{n}"

    def strategy(self, path_title: str, n: int) -> str:
        return f"{self.path(path_title)}/strategy/{n}"
