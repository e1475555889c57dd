"""The explorer, the plan page, the SPARQL workbench and /docs in real Chromium (issue #15).

Debian's ``chromium`` (``make test`` installs it when missing), driven by Playwright for Python through
its executable path: no browser is downloaded. Each test checks a page at 1280 px and saves screenshots
of it at 1280 px and 390 px in ``tests/.screenshots/`` (not committed), checking that the narrow
layout does not scroll sideways.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: No sandbox (CI runs as root), and nothing that reaches out: the machine has no internet.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parent / ".screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server)
    page = context.new_page()
    errors: list[str] = []
    foreign: list[str] = []
    origin = urlsplit(live_server).netloc
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda req: None if urlsplit(req.url).netloc == origin else foreign.append(req.url))
    yield page
    context.close()
    assert errors == [], errors  # no script error on any page
    assert foreign == [], foreign  # every asset and call is local


def shot(page, name: str) -> None:
    """The page as it is now at 1280 px, then laid out again at 390 px (a phone), still readable."""
    SHOTS.mkdir(exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways at {width} px"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_search_answers_as_you_type_and_says_why(page, live_server):
    page.goto("/")
    page.fill("#q", "GQA")
    page.wait_for_selector("#hits li")
    expected = httpx.get(f"{live_server}/v1/search", params={"q": "GQA", "k": 10}).json()["hits"]
    ids = [li.get_attribute("data-id") for li in page.query_selector_all("#hits li")]
    assert ids == [h["id"] for h in expected]
    assert 'label "GQA"' in page.inner_text("#hits li:first-child .why")
    shot(page, "explore")


def test_a_concept_page_shows_sources_relations_and_inferred_prerequisites(page):
    page.goto("/#/concept/random-forest")
    page.wait_for_selector("#concept-title")
    assert page.inner_text("#concept-title") == "Random Forest"
    text = page.inner_text("#concept")
    assert "topic-wiki (topic-wiki.txt:182)" in text and "null" not in text
    assert "Prerequisites (inferred)" in text and "confidence" in text
    links = {a.get_attribute("href") for a in page.query_selector_all("#concept a")}
    assert {"#/concept/decision-tree", "#/concept/ensemble-methods"} <= links
    assert "#/concept/feature-importance-and-interpretability" in links  # needed by (stated)
    shot(page, "concept")


def test_a_plan_with_two_known_concepts_is_the_library_s_gap_and_its_drawing(page, indexed):
    from retrieval.gap import GapFinder

    page.goto("/#/plan/gradient-boosting-machines?known=decision-tree,learning-rate")
    page.wait_for_function("document.getElementById('plan-status').textContent.includes('concepts to learn')")
    shown = [li.get_attribute("data-id") for li in page.query_selector_all("#plan li")]
    finder = GapFinder(indexed[0])
    known = {"decision-tree", "learning-rate"}
    gap = finder.gap(["gradient-boosting-machines"], known)
    assert shown == [i.id for i in gap.missing] and len(shown) >= 4
    assert "decision-tree" not in shown and "learning-rate" not in shown
    assert page.input_value("#plan-known") == "decision-tree,learning-rate"  # the URL is the plan
    assert page.inner_text("#plan-status").startswith(f"{len(shown)} concepts to learn before gradient-boosting")

    # The drawing: the plan's concepts, the target, the known concepts they rest on directly, and every
    # prerequisite edge among them (from the library's graph, not from the picture model).
    g = finder.graph.g
    plan_nodes = {"gradient-boosting-machines", *shown}
    expected_nodes = plan_nodes | {p for n in plan_nodes for p in g.successors(n) if p in known}
    expected_edges = {(b, a) for a, b in g.subgraph(expected_nodes).edges}
    drawn_nodes = {n.get_attribute("data-id") for n in page.query_selector_all("#plan-graph .node")}
    drawn_edges = {
        (e.get_attribute("data-from"), e.get_attribute("data-to")) for e in page.query_selector_all("#plan-graph .edge")
    }
    assert drawn_nodes == expected_nodes and drawn_edges == expected_edges
    drawn_known = {n.get_attribute("data-id") for n in page.query_selector_all("#plan-graph .node.known")}
    assert drawn_known == expected_nodes & known and drawn_known  # known concepts a drawn one rests on directly
    assert [n.get_attribute("data-id") for n in page.query_selector_all("#plan-graph .node.target")] == [
        "gradient-boosting-machines"
    ]
    inferred = {(a, b) for a, b in expected_edges if g.edges[b, a].get("inferred")}
    dashed = page.query_selector_all("#plan-graph .edge.inferred")
    assert {(e.get_attribute("data-from"), e.get_attribute("data-to")) for e in dashed} == inferred and inferred
    label = dashed[0].text_content()
    a, b = dashed[0].get_attribute("data-from"), dashed[0].get_attribute("data-to")
    assert label == f"{g.edges[b, a]['confidence']:.2f}"
    legend = page.inner_text("#plan-legend")
    assert "target" in legend and "known (greyed)" in legend and "inferred, with its confidence" in legend
    shot(page, "plan")

    # "Everything up to layer 1" joins the known concepts (bias-variance-tradeoff leaves the plan), and the URL says so.
    page.select_option("#plan-layer", "1")
    page.click("#plan-form button[type=submit]")
    page.wait_for_function("location.hash.includes('upto=1')")
    page.wait_for_function(
        "document.querySelectorAll('#plan li').length && !document.getElementById('plan-status').textContent.includes('…')"
    )
    with_layers = finder.gap(["gradient-boosting-machines"], finder.known_set(sorted(known), None, "1"))
    page.wait_for_function(f"document.querySelectorAll('#plan li').length === {len(with_layers.missing)}")
    assert len(with_layers.missing) < len(shown)


def test_a_long_plan_says_what_it_left_out_and_lists_it_on_request(page):
    """Gradient Boosting Machines' chains reach 28 prerequisites: the page lists the nearest 20, says 8 are
    not listed, and its "list all" link (a shareable URL) lists all 28."""
    page.goto("/#/plan/gradient-boosting-machines")
    page.wait_for_function("document.getElementById('plan-status').textContent.includes('concepts to learn')")
    assert len(page.query_selector_all("#plan li")) == 20
    assert "(8 deeper prerequisites not listed: list all)" in page.inner_text("#plan-status")
    page.click("#plan-full")
    page.wait_for_function("location.hash === '#/plan/gradient-boosting-machines?full=1'")
    page.wait_for_function("document.querySelectorAll('#plan li').length === 28")
    assert "not listed" not in page.inner_text("#plan-status")


def test_the_plan_form_suggests_concepts_and_adds_known_ones(page):
    page.goto("/#/plan")
    page.type("#plan-add", "decision tr")
    page.wait_for_selector("#concept-suggestions option[value='decision-tree']", state="attached")
    page.fill("#plan-add", "decision-tree")
    page.press("#plan-add", "Enter")
    page.fill("#plan-add", "learning-rate")
    page.press("#plan-add", "Enter")
    assert page.input_value("#plan-known") == "decision-tree,learning-rate" and page.input_value("#plan-add") == ""
    page.type("#plan-target", "gradient boosting")
    page.wait_for_selector("#concept-suggestions option[value='gradient-boosting-machines']", state="attached")
    page.fill("#plan-target", "gradient-boosting-machines")
    page.click("#plan-form button[type=submit]")
    page.wait_for_function("location.hash === '#/plan/gradient-boosting-machines?known=decision-tree%2Clearning-rate'")
    page.wait_for_selector("#plan li")
    # The Markdown export: the steps, then the server's mermaid picture of the same plan.
    page.click("#plan-md")
    page.wait_for_selector("#plan-markdown:not([hidden])")
    markdown = page.text_content("#plan-markdown")
    assert markdown.startswith("# Learning plan for gradient-boosting-machines\n\n1. ")
    assert "```mermaid\ngraph BT\n" in markdown and "  class n_gradient_boosting_machines" in markdown


def test_the_sparql_workbench_runs_named_queries_and_locates_errors(page):
    page.goto("/#/sparql")
    page.click("#sparql-form button")
    page.wait_for_selector("#sparql-result table")
    assert len(page.query_selector_all("#sparql-result tbody tr")) == 20
    assert page.inner_text("#sparql-status") == "20 rows"
    # A named query with a concept parameter: chosen, bound by name, run.
    page.select_option("#named-query", "prerequisites")
    page.fill("#named-target", "Fisher Information")
    page.click("#named-form button")
    page.wait_for_function("document.getElementById('sparql-query').value.includes('VALUES ?target')")
    page.click("#sparql-form button")
    page.wait_for_function("document.getElementById('sparql-status').textContent === '5 rows'")
    cells = [td.inner_text() for td in page.query_selector_all("#sparql-result tbody tr td:nth-child(2)")]
    assert cells[0] == "Maximum Likelihood Estimation"
    first = page.query_selector("#sparql-result tbody tr td a")
    assert first.get_attribute("href") == "#/concept/maximum-likelihood-estimation"  # IRIs open their concept
    shot(page, "sparql")
    page.fill(
        "#sparql-query", "CONSTRUCT { ?c skos:prefLabel ?l } WHERE { ?c skos:notation 'bm25' ; skos:prefLabel ?l }"
    )
    page.click("#sparql-form button")
    page.wait_for_function("document.getElementById('sparql-status').textContent === 'graph (Turtle)'")
    assert '"BM25"' in page.inner_text("#sparql-result pre")
    page.fill("#sparql-query", "SELECT ?x WHERE {\n  ?x")
    page.click("#sparql-form button")
    page.wait_for_selector("#sparql-result .error")
    error = page.inner_text("#sparql-result .error")
    assert "SPARQL syntax error: error at 2:5" in error and "(line 2, column 5)" in error
    caret = page.evaluate("document.getElementById('sparql-query').selectionStart")
    assert caret == len("SELECT ?x WHERE {\n  ?x")  # the editor's cursor sits where the parser stopped


def test_docs_render_offline_and_send_a_request(page, live_server):
    """/docs (the reference rendered from the OpenAPI document) lists every operation and its try-it form
    answers what the API answers; Swagger UI at /docs/swagger renders the same operations."""
    spec = httpx.get(f"{live_server}/openapi.json").json()
    operations = sum(len(item) for item in spec["paths"].values())
    page.goto("/docs")
    assert len(page.query_selector_all("section.op")) == operations
    op = "#op-search_v1_search_get"
    page.click(f"{op} details summary")
    page.fill(f"{op}-q", "GQA")
    page.click(f"{op} button")
    page.wait_for_selector(f"{op} output pre")
    assert page.inner_text(f"{op} output .status").endswith("200 OK")
    shown = json.loads(page.inner_text(f"{op} output pre"))
    assert shown == httpx.get(f"{live_server}/v1/search", params={"q": "GQA", "k": 10, "mode": "hybrid"}).json()
    shot(page, "docs")
    page.goto("/docs/swagger")
    page.wait_for_selector(".opblock")
    assert len(page.query_selector_all(".opblock")) == operations


def test_every_control_is_labelled_and_reachable_by_keyboard(page):
    page.goto("/")
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, textarea, select')]
              .filter(e => !document.querySelector(`label[for="${e.id}"]`)).map(e => e.id)"""
    )
    assert unlabelled == []
    page.keyboard.press("Tab")  # the first link of the page header, then on through the controls
    focused = set()
    for _ in range(8):
        focused.add(page.evaluate("document.activeElement.id || document.activeElement.getAttribute('href')"))
        page.keyboard.press("Tab")
    assert {"nav-explore", "nav-plan", "nav-sparql", "q"} <= focused
