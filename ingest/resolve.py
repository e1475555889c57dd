"""Concept resolution: records -> concepts, and prerequisite slugs -> concept ids.

Merging: records whose titles share a key from :func:`ingest.labels.keys` are
one concept (union-find, so merges are transitive and each is explained by the
rule and key that joined it). Near-misses with extra words ("Attention
Mechanism" / "Attention Mechanism Theory") share no key and stay apart.

Preferred label: the title from the most authoritative source in the order
theory-library, concept-library, topic-wiki, working-notes (earliest line
first; question-form titles last), without an acronym/alias parenthetical,
which becomes an alt label. Every other spelling is an alt label.

Ids: the slug of the preferred label; a clash gets ``-2``, ``-3`` in the same
deterministic order.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from ingest.concepts import Concept, Prerequisite, SourceRef
from ingest.labels import Key, acronym_keys, analyse, forget_keys, keys
from ingest.records import SOURCE_FILES, SourceRecord
from ingest.segment import Segmenter
from ingest.text import content_key, slugify, split_paren, stem, words

PRIORITY = {name: i for i, name in enumerate(SOURCE_FILES)}


class Merge(BaseModel):
    """One merge of several records into one concept, explained."""

    concept: str
    labels: list[str]
    records: list[str]
    rules: list[str]


class SlugResolution(BaseModel):
    slug: str
    target: str
    method: str
    referenced_from: str


class StubInfo(BaseModel):
    id: str
    slug: str
    referenced_by: list[str] = Field(default_factory=list)


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[max(ra, rb)] = min(ra, rb)
        return True


def _rank(record: SourceRecord) -> tuple[int, int]:
    return PRIORITY[record.source], record.locator.line


@dataclass
class Resolution:
    concepts: list[Concept]
    merges: list[Merge]
    #: id of the concept each record was placed in, keyed by ``file:line``.
    placement: dict[str, str]
    slug_resolutions: list[SlugResolution] = field(default_factory=list)
    stubs: list[StubInfo] = field(default_factory=list)
    #: Prerequisite cycles the sources state, each broken by dropping one stated edge (see break_cycles).
    cycles: list[CycleBreak] = field(default_factory=list)
    #: The matcher the slugs were resolved with (the described concepts, no stubs). The build resolves the
    #: plan gold set's references with it instead of building a second one (~19 s at 100k concepts).
    matcher: SlugMatcher | None = field(default=None, repr=False, compare=False)


class CycleBreak(BaseModel):
    """A cycle of stated prerequisites and the edge dropped to break it."""

    cycle: list[str]
    dropped: tuple[str, str]
    file: str
    line: int

    @property
    def message(self) -> str:
        path = " -> ".join([*self.cycle, self.cycle[0]])
        return (
            f"prerequisite cycle {path} (each requires the next): no reading order exists; "
            f"dropped {self.dropped[0]} -> {self.dropped[1]} (stated here)"
        )


def break_cycles(concepts: list[Concept]) -> list[CycleBreak]:
    """Break every cycle of stated prerequisites by dropping one edge: one whose prerequisite sits in a
    deeper layer than its concept if there is one (the sources' own order says it is the wrong one), else
    the last-stated (highest line, then ids).

    Deterministic, and reported: a plan needs an order, and one wrong line must not stop the whole build.
    """
    from ingest.records import LAYERS

    depth = {c.id: LAYERS.index(c.layer) for c in concepts if c.layer in LAYERS}
    import networkx as nx

    by_id = {c.id: c for c in concepts}
    g = nx.DiGraph((c.id, p.target) for c in concepts for p in c.prerequisites)
    out: list[CycleBreak] = []

    def tangled(nodes: set[str] | None = None) -> list[set[str]]:
        """Strongly connected parts (of ``nodes``, default all) that hold a cycle, smallest id first."""
        parts = nx.strongly_connected_components(g if nodes is None else g.subgraph(nodes))
        return sorted((p for p in parts if len(p) > 1 or any(g.has_edge(n, n) for n in p)), key=min)

    # Cycles are searched inside strongly connected components only, and a component is split again
    # after each break: one whole-graph search per cycle was quadratic (hours for a generated catalogue
    # of 300k topics with thousands of cycles).
    pending = tangled()
    while pending:
        part = pending.pop(0)
        cycle = [a for a, _b in nx.find_cycle(g.subgraph(part), source=min(part))]
        edges = [(a, cycle[(i + 1) % len(cycle)]) for i, a in enumerate(cycle)]
        stated = {(a, p.target): p for a, _ in edges for p in by_id[a].prerequisites}
        a, b = max(edges, key=lambda e: (depth.get(e[1], -1) > depth.get(e[0], 99), stated[e].line, e))
        link = stated[(a, b)]
        by_id[a].prerequisites.remove(link)
        g.remove_edge(a, b)
        start = cycle.index(min(cycle))
        out.append(CycleBreak(cycle=cycle[start:] + cycle[:start], dropped=(a, b), file=link.file, line=link.line))
        pending = tangled(part) + pending
    return out


def merge_records(records: list[SourceRecord]) -> tuple[list[Concept], list[Merge], dict[str, str]]:
    """Group records naming the same concept and build one :class:`Concept` per group."""
    ordered = sorted(records, key=_rank)
    uf = _UnionFind(len(ordered))
    owner: dict[Key, tuple[int, str]] = {}
    why: dict[int, list[str]] = defaultdict(list)
    for i, rec in enumerate(ordered):
        for rule, key in keys(rec.title):
            j, first_rule = owner.setdefault(key, (i, rule))
            if j != i and uf.union(i, j):
                # Both sides' rules: "Transformer" (normalized) = "Transformer Architecture" (generic-head).
                rules = rule if rule == first_rule else f"{first_rule}+{rule}"
                why[i].append(f"{rules}: {' '.join(key)}")
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(ordered)):
        groups[uf.find(i)].append(i)

    concepts: list[Concept] = []
    merges: list[Merge] = []
    placement: dict[str, str] = {}
    used_ids: set[str] = set()
    for root in sorted(groups):
        members = [ordered[i] for i in sorted(groups[root])]
        concept = _concept(members, used_ids)
        used_ids.add(concept.id)
        concepts.append(concept)
        for rec in members:
            placement[str(rec.locator)] = concept.id
        if len(members) > 1:
            merges.append(
                Merge(
                    concept=concept.id,
                    labels=[m.title for m in members],
                    records=[str(m.locator) for m in members],
                    rules=sorted({r for i in groups[root] for r in why[i]}),
                )
            )
    return concepts, merges, placement


def _concept(members: list[SourceRecord], used_ids: set[str]) -> Concept:
    # Question-form titles ("What is X?") never become the preferred label.
    first = min(members, key=lambda r: (r.title.rstrip().endswith("?"), _rank(r)))
    parts = analyse(first.title)
    label = parts.main
    alt: list[str] = []
    for rec in members:
        p = analyse(rec.title)
        for cand in (rec.title, p.main, *p.alt_labels):
            if cand != label and cand not in alt and cand.casefold() != label.casefold():
                alt.append(cand)
    base = slugify(label)
    cid, n = base, 2
    while cid in used_ids:
        cid, n = f"{base}-{n}", n + 1

    def first_of(attr: str):
        return next((getattr(r, attr) for r in members if getattr(r, attr) is not None), None)

    modules: list[str] = []
    for rec in members:
        if rec.module and rec.module not in modules:
            modules.append(rec.module)
    definition = next((r.description for r in members if r.description and r.source != "working-notes"), None)
    notes = next((r.description for r in members if r.source == "working-notes"), None)
    return Concept(
        id=cid,
        label=label,
        alt_labels=alt,
        definition=definition or notes,
        layer=first_of("layer"),
        tier=first_of("tier"),
        minutes=first_of("minutes"),
        level=first_of("level"),
        modules=modules,
        premium=any(r.premium for r in members),
        sources=[
            SourceRef(
                source=r.source,
                file=r.locator.file,
                line=r.locator.line,
                title=r.title,
                description=r.description,
            )
            for r in members
        ],
        unlisted_prerequisites=sum(r.unlisted_prerequisites for r in members),
        problem_statement=notes,
    )


class SlugMatcher:
    """Resolves a prerequisite slug to a concept id, naming the rule that matched.

    Exact rules apply to every concept; the fuzzy ``prefix`` and ``subsequence``
    rules only to theory-library concepts, because slugs are that site's page
    URLs and only those get truncated.
    """

    def __init__(self, concepts: Iterable[Concept]) -> None:
        self._exact: dict[Key, list[tuple[int, str, str]]] = defaultdict(list)
        # Fuzzy rules look up theory titles by proper key prefix and by (first word, last word,
        # length), so a lookup costs the same with 300 titles or 100,000 sharing those words.
        self._prefixes: dict[Key, set[str]] = defaultdict(set)
        self._by_ends: dict[tuple[str, str, int], list[tuple[Key, str]]] = defaultdict(list)
        for concept in concepts:
            theory = any(s.source == "theory-library" for s in concept.sources)
            rank = 0 if theory else 1
            titles = [s.title for s in concept.sources] + [concept.label, *concept.alt_labels]
            for title in dict.fromkeys(titles):
                for rule, key in keys(title):
                    self._exact[key].append((rank, rule, concept.id))
                for key in acronym_keys(title):
                    self._exact[key].append((rank + 2, "acronym", concept.id))
                main, paren = split_paren(title)
                if paren is not None:
                    # Slugs drop a parenthetical qualifier: contrastive-learning.
                    self._exact[content_key(words(main))].append((rank + 4, "paren-main", concept.id))
                if theory:
                    key = content_key(words(title))
                    for j in range(1, len(key)):
                        self._prefixes[key[:j]].add(concept.id)
                    self._by_ends[(key[0], key[-1], len(key))].append((key, concept.id))

    def match(self, slug: str) -> tuple[str, str] | None:
        """Return ``(concept_id, rule)`` or ``None``."""
        w = words(slug)
        if not w:
            return None
        key = content_key(w)
        for k, rule_if in ((key, None), (tuple(stem(t) for t in key), "plural")):
            hits = self._exact.get(k)
            if hits:
                _rank, rule, cid = min(hits)
                if rule_if and rule not in ("normalized", "plural"):
                    return cid, f"plural+{rule}"
                return cid, rule_if or rule
        return self._fuzzy(key)

    def _fuzzy(self, key: Key) -> tuple[str, str] | None:
        if len(key) >= 2 or len(key[0]) >= 5:
            prefix = self._prefixes.get(key, set())
            if len(prefix) == 1:
                return next(iter(prefix)), "prefix"
        sub = set()
        if len(key) >= 2:
            for extra in (1, 2):  # a slug drops at most two inner words of its title
                for k, cid in self._by_ends.get((key[0], key[-1], len(key) + extra), ()):
                    if _in_order(key, k):
                        sub.add(cid)
        if len(sub) == 1:
            return next(iter(sub)), "subsequence"
        return None

    def quality(self, slug: str) -> str | None:
        m = self.match(slug)
        if m is None:
            return None
        if m[1] in ("prefix", "subsequence"):
            return "fuzzy"
        return "loose" if m[1].startswith("plural") else "exact"


def _in_order(small: Key, big: Key) -> bool:
    it = iter(big)
    return all(w in it for w in small)


def vocabulary(texts: Iterable[str]) -> frozenset[str]:
    vocab: set[str] = set()
    for text in texts:
        vocab.update(re.findall(r"[a-z0-9]+", text.lower()))
    return frozenset(vocab)


def resolve(records: list[SourceRecord], extra_text: Iterable[str] = ()) -> tuple[Resolution, list[SourceRecord]]:
    """Merge records into concepts, segment and resolve prerequisite lines, create stubs.

    Returns the resolution and the records with their ``prerequisites`` filled in.
    """
    concepts, merges, placement = merge_records(records)
    matcher = SlugMatcher(concepts)
    forget_keys()  # both have keyed every title; nothing after them asks again
    vocab = vocabulary([r.title for r in records] + [r.description or "" for r in records] + list(extra_text))
    segmenter = Segmenter(matcher.quality, vocab)
    by_id = {c.id: c for c in concepts}
    used_ids = set(by_id)
    stubs: dict[Key, StubInfo] = {}
    resolutions: list[SlugResolution] = []
    updated: list[SourceRecord] = []
    for rec in records:
        if not rec.prerequisite_text:
            updated.append(rec)
            continue
        segments = segmenter.segment(rec.prerequisite_text)
        rec = rec.model_copy(update={"prerequisites": tuple(s.slug for s in segments)})
        updated.append(rec)
        owner = by_id[placement[str(rec.locator)]]
        loc = rec.prerequisite_locator or rec.locator
        for seg in segments:
            hit = matcher.match(seg.slug)
            if hit is None:
                key = content_key(words(seg.slug))
                stub = stubs.get(key)
                if stub is None:
                    sid = slugify(seg.slug)
                    while sid in used_ids:
                        sid += "-stub"
                    used_ids.add(sid)
                    stub = stubs[key] = StubInfo(id=sid, slug=seg.slug)
                if owner.id not in stub.referenced_by:
                    stub.referenced_by.append(owner.id)
                target, method = stub.id, "stub"
            else:
                target, method = hit
            if target == owner.id:
                continue
            resolutions.append(SlugResolution(slug=seg.slug, target=target, method=method, referenced_from=str(loc)))
            if all(p.target != target for p in owner.prerequisites):
                owner.prerequisites.append(
                    Prerequisite(target=target, slug=seg.slug, method=method, file=loc.file, line=loc.line)
                )
    for stub in stubs.values():
        concepts.append(Concept(id=stub.id, label=stub.slug, stub=True, referenced_by=list(stub.referenced_by)))
    cycles = break_cycles(concepts)
    return (
        Resolution(
            concepts=concepts,
            merges=merges,
            placement=placement,
            slug_resolutions=resolutions,
            stubs=list(stubs.values()),
            cycles=cycles,
            matcher=matcher,
        ),
        updated,
    )
