"""`ckg mcp` driven by the official `mcp` client over stdio: list the tools, call each one."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

TOOLS = {"search_concepts", "get_concept", "find_gaps", "learning_path", "context_pack", "sparql_query"}


def _payload(result) -> dict:
    assert not result.is_error, result.content
    if result.structured_content:
        return result.structured_content.get("result", result.structured_content)
    return json.loads(result.content[0].text)


def test_mcp_tools_over_stdio(indexed):
    from mcp import Client, StdioServerParameters

    home = indexed[0].settings.home
    ckg = str(Path(sys.executable).parent / "ckg")
    params = StdioServerParameters(
        command=ckg, args=["mcp", "--home", str(home)], env={**os.environ, "HF_HUB_OFFLINE": "1"}
    )

    async def session() -> dict:
        out: dict = {}
        async with Client(params) as client:
            out["tools"] = {t.name for t in (await client.list_tools()).tools}
            call = client.call_tool
            out["search"] = _payload(await call("search_concepts", {"query": "LoRA", "k": 3}))
            out["concept"] = _payload(await call("get_concept", {"concept": "Fisher Information"}))
            out["gap"] = _payload(
                await call("find_gaps", {"targets": ["Cramér-Rao Bound"], "known": ["Maximum Likelihood Estimation"]})
            )
            out["path"] = _payload(await call("learning_path", {"target": "Fisher Information"}))
            gbm = "gradient-boosting-machines"
            out["capped"] = _payload(await call("learning_path", {"target": gbm}))
            out["full"] = _payload(await call("find_gaps", {"targets": [gbm], "full": True}))
            out["context"] = _payload(await call("context_pack", {"question": "what is double descent", "budget": 600}))
            out["sparql"] = _payload(
                await call("sparql_query", {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?a ckg:requires ?b }"})
            )
            out["missing"] = await call("get_concept", {"concept": "no such concept anywhere"})
            out["bad_sparql"] = await call("sparql_query", {"query": "SELECT ?x WHERE {"})
            out["too_many"] = await call("find_gaps", {"targets": [f"t{i}" for i in range(10_000)]})
            out["bad_mode"] = await call("search_concepts", {"query": "LoRA", "mode": "psychic"})
            out["service"] = await call(
                "sparql_query", {"query": "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"}
            )
            tools = (await client.list_tools()).tools
            out["schemas"] = {t.name: t.input_schema for t in tools}
            out["output_schemas"] = {t.name: t.output_schema for t in tools}
            out["version"] = client.server_info.version if hasattr(client, "server_info") else None
        return out

    out = asyncio.run(asyncio.wait_for(session(), timeout=180))
    assert out["tools"] == TOOLS
    assert out["search"]["hits"][0]["id"] == "low-rank-adaptation"
    assert out["concept"]["id"] == "fisher-information" and out["concept"]["prerequisites"][0]["id"] == (
        "maximum-likelihood-estimation"
    )
    assert [i["id"] for i in out["gap"]["missing"]] == ["fisher-information"]
    assert len(out["path"]["missing"]) == 5 and out["path"]["total_minutes"] == 250
    assert (len(out["capped"]["missing"]), out["capped"]["omitted"]) == (20, 8)
    assert (len(out["full"]["missing"]), out["full"]["omitted"]) == (28, 0)
    assert out["context"]["items"][0]["id"] == "double-descent" and "[C1]" in out["context"]["markdown"]
    assert out["sparql"]["results"]["bindings"][0]["n"]["value"] == "406"
    assert out["missing"].is_error and "nothing close enough to" in out["missing"].content[0].text
    assert out["bad_sparql"].is_error and "syntax error" in out["bad_sparql"].content[0].text
    assert out["too_many"].is_error and out["bad_mode"].is_error  # bounded arguments, refused before any work
    assert out["service"].is_error and "SERVICE" in out["service"].content[0].text
    # Typed outputs: the concept document's fields in each tool's output schema (tests/test_contract.py
    # checks the values themselves).
    from ingest.concepts import ConceptDoc

    outputs = out["output_schemas"]
    hit = outputs["search_concepts"]["$defs"]["SearchHit"]["properties"]
    assert set(ConceptDoc.fields()) <= set(hit) and {"rank", "score", "evidence"} <= set(hit)
    assert set(ConceptDoc.fields()) <= set(outputs["get_concept"]["properties"])
    assert set(ConceptDoc.fields()) <= set(outputs["find_gaps"]["$defs"]["GapItem"]["properties"])
    assert set(ConceptDoc.fields()) <= set(outputs["context_pack"]["$defs"]["ContextItem"]["properties"])
    search = out["schemas"]["search_concepts"]["properties"]
    assert search["mode"]["enum"] == ["hybrid", "dense", "lexical"] and search["k"]["maximum"] == 100
    assert out["schemas"]["find_gaps"]["properties"]["targets"]["maxItems"] == 20


def test_malformed_json_rpc_gets_a_parse_error_reply(indexed):
    """JSON-RPC 2.0: a line that is not JSON is answered with -32700 (id null), and the session goes on."""
    import json
    import subprocess

    ckg = str(Path(sys.executable).parent / "ckg")
    lines = b'not json at all\n{"jsonrpc": "2.0", "id": 7, "method": "ping"}\n'
    proc = subprocess.run(
        [ckg, "mcp", "--home", str(indexed[0].settings.home)], input=lines, capture_output=True, timeout=60
    )
    replies = [json.loads(x) for x in proc.stdout.splitlines() if x.strip()]
    assert replies[0]["error"]["code"] == -32700 and replies[0]["id"] is None
    assert replies[1] == {"jsonrpc": "2.0", "id": 7, "result": {}}
