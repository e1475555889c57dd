"""The library objects one server process shares between requests (HTTP API and MCP alike).

Kept apart from ``server.app`` so that the MCP server does not import FastAPI.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from ckg.config import Settings


class Services:
    """The loaded library objects one server process shares between requests."""

    def __init__(self, settings: Settings) -> None:
        from kg.workspace import Workspace
        from retrieval.service import SearchService

        self.settings = settings
        self.ws = Workspace(settings)
        self.search = SearchService(self.ws)
        # Touch what search needs once, so the first search pays nothing. The context builder (and the
        # graph library it imports) is made on first use: an MCP session's first call is usually a search.
        self.search.index  # noqa: B018
        self.search.lexical  # noqa: B018
        self.search.embedder.encode(["warm up"])

    @cached_property
    def context(self) -> Any:
        from retrieval.context import ContextBuilder

        return ContextBuilder(self.ws, self.search)

    @property
    def names(self) -> Any:
        from retrieval.names import NameResolver

        return NameResolver(self.ws.catalog, self.search)

    def concept_detail(self, ref: str) -> dict[str, Any]:
        """A concept document plus its asserted prerequisites (with source line) and direct dependents.

        ``ref`` resolves as in the CLI (retrieval.names); a guess adds ``resolved`` saying what was chosen.
        """
        from kg.detail import concept_detail

        res = self.names.resolve(ref)
        return concept_detail(self.ws, self.ws.catalog.concepts[res.id], res).model_dump(mode="json")

    def gap_finder(self, asserted_only: bool = False, min_confidence: float | None = None, full: bool = False) -> Any:
        from retrieval.gap import GapFinder

        if min_confidence is not None:
            min_confidence = round(min_confidence, 2)  # bounds the planning-graph cache
        return GapFinder(
            self.ws, asserted_only=asserted_only, min_confidence=min_confidence, search=self.search, full=full
        )
