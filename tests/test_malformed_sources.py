"""Ingest that never silently rewrites (issue #16): a bad block is rejected alone, with file:line, and the
rest of the graph is what it was."""

from __future__ import annotations

import random

import pytest

from ingest.pipeline import run

HEADER = b"L0ATier 1~65m"  # the header of "Common Probability Distributions", line 21


@pytest.fixture(scope="module")
def baseline(ingested):
    return ingested


def _modules(ingest):
    return sorted((m.title, m.member_count) for p in ingest.parsed.values() for m in p.modules)


def _expected_modules(baseline):
    """The baseline's modules with Common Probability Distributions gone from the theory library's Foundations."""
    return sorted(
        (m.title, m.member_count - (p.source == "theory-library" and m.title == "Foundations"))
        for p in baseline.parsed.values()
        for m in p.modules
    )


@pytest.mark.parametrize(
    "bad",
    [
        b"L9Tier x~abcm",
        b"L2Tier 1~65min",
        b"L0ATier one~65m",
        bytes(random.Random(0).randrange(256) for _ in range(512)),
    ],
    ids=["layer-9", "minutes-word", "tier-word", "random-bytes"],
)
def test_a_corrupt_header_rejects_its_block_alone(source_copy, baseline, bad):
    path = source_copy / "theory-library.txt"
    path.write_bytes(path.read_bytes().replace(HEADER, bad, 1))
    ingest = run(source_copy)
    theory = next(s for s in ingest.report.sources if s.source == "theory-library")
    assert theory.records_placed == 295  # one topic lost, and said so
    assert theory.rejections and all(r.locator.file == "theory-library.txt" for r in theory.rejections)
    assert any(r.locator.line in (21, 23) for r in theory.rejections)
    assert _modules(ingest) == _expected_modules(baseline)  # no phantom module
    # Still referenced by other topics' prerequisite lines, the lost topic stays as a stub, and nothing else changes.
    assert {c.id for c in ingest.concepts} == {c.id for c in baseline.concepts}
    stubs = {c.id for c in ingest.concepts if c.stub}
    assert stubs == {c.id for c in baseline.concepts if c.stub} | {"common-probability-distributions"}
    assert not any("\ufffd" in c.label for c in ingest.concepts)


@pytest.mark.parametrize(
    ("old", "new"), [(b"- BM25BM25 is", b"- BM2\x005BM25 is"), (b"BM25 is a sparse", b"BM25 is a\x00 sparse")]
)
def test_a_nul_byte_rejects_its_record_with_its_line(source_copy, old, new):
    path = source_copy / "topic-wiki.txt"
    path.write_bytes(path.read_bytes().replace(old, new, 1))
    ingest = run(source_copy)
    wiki = next(s for s in ingest.report.sources if s.source == "topic-wiki")
    [rej] = wiki.rejections
    assert (rej.locator.file, rej.locator.line) == ("topic-wiki.txt", 310)
    assert not any("\x00" in c.label or any("\x00" in a for a in c.alt_labels) for c in ingest.concepts)


def test_a_megabyte_title_is_rejected(source_copy):
    path = source_copy / "working-notes.txt"
    lines = path.read_text("utf-8").split("\n")
    i = lines.index("MAP-Elites")
    lines[i] = "A" * 1_000_000
    path.write_text("\n".join(lines), "utf-8")
    ingest = run(source_copy)
    notes = next(s for s in ingest.report.sources if s.source == "working-notes")
    assert any("title of 1,000,000 characters" in r.reason and r.locator.line == i + 1 for r in notes.rejections)
    assert max(len(c.label) for c in ingest.concepts) < 300


def test_the_independent_header_count_matches_on_clean_sources(baseline):
    facts = baseline.parsed["theory-library"].facts
    assert facts["header_lines"] == facts["present_topics"] == 296
    assert not any("a block was lost" in w.message for s in baseline.report.sources for w in s.warnings)
