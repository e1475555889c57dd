"""Name resolution (retrieval.names): the same answers in the library, the CLI, HTTP and MCP."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ckg.errors import ConceptNotFoundError
from retrieval.names import FLOOR, NameResolver

pytestmark = pytest.mark.slow  # the semantic step needs the indexed build


@pytest.fixture(scope="module")
def names(indexed, search_service):
    return NameResolver(indexed[0].catalog, search_service)


@pytest.mark.parametrize(
    ("ref", "how", "cid"),
    [
        ("Backpropagation", "exact", "backpropagation"),
        ("backpropagation", "exact", "backpropagation"),
        ("https://ckg.example.org/concept/double-descent", "exact", "double-descent"),
        ("GQA", "exact", "grouped-query-attention"),
        ("double-descent-phenomenon", None, None),  # not a name of anything: falls through to meaning
        ("backpropogation", "typo", "backpropagation"),  # not "Backpropagation — History"
        ("attension mechanism", "typo", "attention-mechanism"),
        ("Linear Algebra", "partial", "linear-algebra-for-ml"),
        ("I want to understand diffusion models", "semantic", "diffusion-models"),
    ],
)
def test_resolution_steps(names, ref, how, cid):
    if how is None:
        res = names.resolve(ref)
        assert res.how in ("variant", "semantic") and res.id == "double-descent"
        return
    res = names.resolve(ref)
    assert (res.how, res.id) == (how, cid)
    assert res.guessed == (how in ("typo", "partial", "semantic"))
    if res.guessed:
        assert res.note().startswith(f"no concept named {ref!r}; using the ")


@pytest.mark.parametrize("nonsense", ["zzzqqq xyz", "banana", "the weather in paris", "42"])
def test_nonsense_is_an_error_not_a_guess(names, nonsense):
    with pytest.raises(ConceptNotFoundError, match="nothing close enough"):
        names.resolve(nonsense)
    assert names.search.dense(nonsense, 1)[0][1] < FLOOR


def test_by_name_only_suggests_instead_of_guessing_meaning(names):
    with pytest.raises(ConceptNotFoundError) as exc:
        names.resolve("how transformers process sequences", free_text=False)
    assert "did you mean" not in str(exc.value) or exc.value.suggestions
    with pytest.raises(ConceptNotFoundError) as exc:
        names.resolve("kv cash")
    ids = [s["id"] for s in exc.value.suggestions]
    assert "kv-cache-optimization" in ids and len(ids) <= 5
    assert "did you mean KV" in str(exc.value) or "did you mean Autoregressive" in str(exc.value)


def test_cli_says_the_guess_before_the_answer_and_fails_on_nonsense(indexed):
    home = str(indexed[0].settings.home)

    def run(*a):
        return subprocess.run([sys.executable, "-m", "cli.main", *a, "--home", home], capture_output=True, text=True)

    typo = run("show", "backpropogation", "-f", "json")
    assert typo.returncode == 0 and '"id": "backpropagation"' in typo.stdout
    assert "using the closest spelling: Backpropagation [backpropagation]" in typo.stderr
    nonsense = run("show", "zzzqqq xyz")
    assert nonsense.returncode == 1 and nonsense.stdout == ""
    assert nonsense.stderr.strip().endswith(
        "error: nothing close enough to 'zzzqqq xyz'; try `ckg search` or `ckg concepts`"
    )
    known = run("gap", "Double Descent", "--known", "Linear Algebra", "-f", "json")
    assert known.returncode == 0 and "Linear Algebra for ML [linear-algebra-for-ml]" in known.stderr


def test_http_resolves_like_the_cli_and_404s_with_suggestions(live_server):
    import httpx

    with httpx.Client(base_url=live_server) as client:
        doc = client.get("/v1/concepts/backpropogation").json()
        assert doc["id"] == "backpropagation" and doc["resolved"]["how"] == "typo"
        assert client.get("/v1/concepts/backpropagation").json()["resolved"] is None
        missing = client.get("/v1/concepts/kv cash")
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
        assert "kv-cache-optimization" in [s["id"] for s in missing.json()["suggestions"]]
        assert client.get("/v1/concepts/zzzqqq xyz").status_code == 404
