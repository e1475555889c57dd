"""How fast the browser pages load from a warm server, in Debian's chromium (issue #15).

``ckg serve`` in its own process on loopback; each page is opened ``REPEATS`` times in a fresh
browser context (no cache) after one warm-up, and timed until what the page is for is on screen:
the explorer's first hits, a concept's title, a plan's items, a SPARQL table, the API docs.

    python -m bench.pages        # prints the section (about a minute)
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench.hardening import serve
from bench.timing import Figure

REPEATS = 7
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
#: (name, path, what to type into #q or None, selector that says the page is ready)
PAGES = [
    ("explorer: first hits for a typed query", "/", "diffusion models", "#hits li"),
    ("concept page", "/#/concept/random-forest", None, "#concept-title"),
    ("learning plan", "/#/plan/gradient-boosting-machines?known=decision-tree", None, "#plan li"),
    ("SPARQL workbench: a query's table", "/#/sparql", None, "#sparql-result table"),
    ("API reference (/docs)", "/docs", None, "section.op"),
    ("Swagger UI (/docs/swagger)", "/docs/swagger", None, ".opblock"),
]


def figures(home: Path) -> list[Figure]:
    from playwright.sync_api import sync_playwright

    proc, url = serve(home)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            out = []
            for name, path, typed, ready in PAGES:
                times = []
                for n in range(REPEATS + 1):
                    context = browser.new_context(base_url=url)
                    page = context.new_page()
                    start = time.perf_counter()
                    page.goto(path)
                    if typed:
                        page.fill("#q", typed)
                    if path == "/#/sparql":
                        page.click("#sparql-form button")
                    page.wait_for_selector(ready)
                    if n:  # the first run warms the server's caches
                        times.append(time.perf_counter() - start)
                    context.close()
                out.append(Figure(name, "s", times, f"python -m bench.pages ({path})"))
            browser.close()
        return out
    finally:
        proc.terminate()
        proc.wait()


def section(home: Path) -> str:
    from bench.run import table

    return table(
        "Browser pages from a warm server (`python -m bench.pages`)",
        figures(home),
        f"`ckg serve` on loopback, Debian's chromium driven by Playwright; each page {REPEATS} times in a fresh "
        "browser context after one warm-up, timed from navigation until what the page is for is on screen "
        "(target: under 1 s each).",
    )


def main() -> None:
    print(section(Path(os.environ.get("CKG_HOME", "data/build"))))


if __name__ == "__main__":
    main()
