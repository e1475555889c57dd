"""One concept document everywhere: every command and route carries the same concept fields, same types.

Each concept-shaped item of every output is validated against the JSON Schema the model exports (and
``/v1/schema/concept`` serves), and must carry every field of it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import jsonschema
import pytest

from ingest.concepts import ConceptDoc

pytestmark = pytest.mark.slow
SCHEMA = ConceptDoc.model_json_schema()
FIELDS = set(ConceptDoc.fields())


def check(items: list[dict], where: str) -> None:
    assert items, f"{where}: no concept items to check"
    for item in items:
        missing = FIELDS - set(item)
        assert not missing, f"{where}: {item.get('id')} lacks {sorted(missing)}"
        jsonschema.validate(item, SCHEMA)


def cli(home: str, *args: str) -> object:
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "-q", *args, "--home", home, "-f", "json"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_cli_command_renders_the_concept_document(indexed):
    home = str(indexed[0].settings.home)
    check(cli(home, "concepts", "--layer", "2")[:50], "concepts")
    show = cli(home, "show", "Fisher Information")
    check([show], "show")
    assert show["prerequisites"][0] == {
        "id": "maximum-likelihood-estimation",
        "label": "Maximum Likelihood Estimation",
        "slug": "maximum likelihood estimation",
        "method": "normalized",
        "file": "theory-library.txt",
        "line": show["prerequisites"][0]["line"],
    }
    search = cli(home, "search", "GQA", "-k", "3")
    assert set(search) == {"query", "mode", "hits"} and [h["rank"] for h in search["hits"]] == [1, 2, 3]
    check(search["hits"], "search")
    check(cli(home, "similar", "Dropout", "-k", "3")["hits"], "similar")
    gap = cli(home, "gap", "Fisher Information")
    check(gap["missing"], "gap")
    assert [i["step"] for i in gap["missing"]] == list(range(1, len(gap["missing"]) + 1))
    check(cli(home, "path", "Double Descent")["missing"], "path")
    check(cli(home, "next", "--known", "Basic Logic and Proof Techniques"), "next")
    check(cli(home, "context", "why does attention scale by the square root of d")["items"], "context")


def test_every_route_renders_the_concept_document_and_serves_its_schema(live_server):
    with httpx.Client(base_url=live_server) as client:
        assert client.get("/v1/schema/concept").json() == SCHEMA
        check(client.get("/v1/concepts", params={"limit": 50}).json()["concepts"], "/v1/concepts")
        check([client.get("/v1/concepts/fisher-information").json()], "/v1/concepts/{id}")
        check(client.get("/v1/search", params={"q": "GQA", "k": 3}).json()["hits"], "/v1/search")
        check(client.get("/v1/similar/dropout", params={"k": 3}).json()["hits"], "/v1/similar")
        check(client.post("/v1/gap", json={"targets": ["Fisher Information"]}).json()["missing"], "/v1/gap")
        check(client.get("/v1/path", params={"target": "Double Descent"}).json()["missing"], "/v1/path")
        check(client.post("/v1/context", json={"question": "what is dropout"}).json()["items"], "/v1/context")
        spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for name in ("ConceptDoc", "ConceptDetail", "SearchHit", "GapItem", "ContextItem"):
        assert set(schemas[name]["properties"]) >= FIELDS, name
    concept_404 = spec["paths"]["/v1/concepts/{concept}"]["get"]["responses"]["404"]
    assert concept_404["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
    assert "suggestions" in schemas["Problem"]["properties"]


def test_cli_and_http_show_the_same_document(indexed, live_server):
    home = str(indexed[0].settings.home)
    with httpx.Client(base_url=live_server) as client:
        http = client.get("/v1/concepts/Fisher Information").json()
    assert cli(home, "show", "Fisher Information") == http
