"""The MCP server (stdio): ckg's library functions as tools an assistant can call.

Each tool is a thin call into the same objects the HTTP API uses; a ckg error
becomes a tool error whose message says what to change, never a crash.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ckg import __version__
from ckg.config import Settings
from ckg.errors import CkgError
from kg.detail import ConceptDetail
from retrieval.context import ContextPack
from retrieval.gap import GapPlan
from retrieval.service import SearchResults

# Every argument bounded, so a tool call cannot ask for unbounded work (10,000 gap targets) and the
# input schemas say so (enums and limits an assistant can read).
Text = Annotated[str, Field(min_length=1, max_length=2_000)]
Ref = Annotated[str, Field(min_length=1, max_length=500, description="concept id, IRI or label")]
Count = Annotated[int, Field(ge=1, le=100)]
Mode = Literal["hybrid", "dense", "lexical"]
Targets = Annotated[list[Ref], Field(min_length=1, max_length=20)]
Known = Annotated[list[Ref] | None, Field(max_length=500)]
Budget = Annotated[int, Field(ge=100, le=20_000, description="tokens")]
Sparql = Annotated[str, Field(min_length=1, max_length=100_000)]
Rows = Annotated[int, Field(ge=1, le=10_000)]


def create_server(settings: Settings | None = None) -> Any:
    from mcp.server import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    from server.services import Services

    state: dict[str, Services] = {}

    def services() -> Services:
        if "s" not in state:
            state["s"] = Services(settings or Settings())
        return state["s"]

    def call(fn: Any) -> Any:
        try:
            return fn()
        except CkgError as exc:
            raise ToolError(str(exc)) from None

    mcp = MCPServer(
        "ckg",
        version=__version__,
        log_level="WARNING",
        instructions=(
            "A knowledge graph of machine-learning curriculum concepts. Search concepts, read one with its "
            "prerequisites and sources, find what a learner is missing for a target, get a learning path, get a "
            "cited context pack for a question (cite its [C#] markers and file:line sources), or run SPARQL "
            "(prefixes ckg, skos, rdf, rdfs, xsd, prov, dcterms, schema, owl are predeclared)."
        ),
    )

    @mcp.tool()
    def search_concepts(query: Text, k: Count = 10, mode: Mode = "hybrid") -> SearchResults:
        """Find concepts matching a query (words, a question or an acronym). mode: hybrid, dense or lexical."""
        hits = call(lambda: services().search.search(query, mode=mode, k=k))  # type: ignore[arg-type]
        return SearchResults(query=query, mode=mode, hits=hits)

    @mcp.tool()
    def get_concept(concept: Ref) -> ConceptDetail:
        """One concept by id, IRI, label or text: definition, layer, minutes, prerequisites, sources (file and
        line). A reference that names no concept is resolved (typo, start of a label, meaning) and says so."""
        return ConceptDetail.model_validate(call(lambda: services().concept_detail(concept)))

    @mcp.tool()
    def find_gaps(targets: Targets, known: Known = None, asserted_only: bool = False, full: bool = False) -> GapPlan:
        """What a learner is missing before the targets (ids, labels or free text), foundations first, with
        minutes: each target's nearest 20 inferred prerequisites (``omitted`` counts the rest; ``full`` lists
        them)."""
        finder = services().gap_finder(asserted_only, full=full)
        return call(lambda: finder.gap(targets, finder.known_set(known or [])))

    @mcp.tool()
    def learning_path(target: Ref, asserted_only: bool = False, full: bool = False) -> GapPlan:
        """The ordered learning path from foundations to a target concept: all it states, and its nearest 20
        inferred prerequisites (``omitted`` counts the rest; ``full`` lists them)."""
        return call(lambda: services().gap_finder(asserted_only, full=full).path(target))

    @mcp.tool()
    def context_pack(question: Text, budget: Budget = 1500) -> ContextPack:
        """Concepts that answer a question, with citations to source file and line, within a token budget."""
        return call(lambda: services().context.build(question, budget=budget))

    @mcp.tool()
    def sparql_query(query: Sparql, limit: Rows = 200) -> dict[str, Any]:
        """Run a read-only SPARQL query over the knowledge graph (union of all named graphs by default)."""
        return call(lambda: services().ws.store.query(query, limit=limit, timeout=10.0, isolated=True)).to_json()

    return mcp


def run_stdio(server: Any) -> None:
    """Serve ``server`` (from :func:`create_server`) over stdio, answering malformed JSON-RPC.

    The SDK drops a line that is not JSON without a word; JSON-RPC 2.0 wants a ``-32700 Parse error``
    reply (id null) so the client knows its message was lost. Lines pass through a filter that answers
    those and hands every valid line to the SDK unchanged.
    """
    import json
    import sys

    import anyio
    from mcp.server.stdio import stdio_server

    out = anyio.wrap_file(sys.stdout)

    class Filtered:
        """The process's stdin as an async line iterator without the lines that are not JSON."""

        def __init__(self) -> None:
            self._lines = anyio.wrap_file(sys.stdin)

        def __aiter__(self) -> Filtered:
            return self

        async def __anext__(self) -> str:
            while True:
                line = await self._lines.readline()
                if not line:
                    raise StopAsyncIteration
                if not line.strip():
                    continue
                try:
                    json.loads(line)
                except ValueError as exc:
                    error = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": f"Parse error: {exc}"}}
                    await out.write(json.dumps(error) + "\n")
                    await out.flush()
                    continue
                return line

    async def main() -> None:
        async with stdio_server(stdin=Filtered(), stdout=out) as (read_stream, write_stream):  # type: ignore[arg-type]
            lowlevel = server._lowlevel_server
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())

    anyio.run(main)
