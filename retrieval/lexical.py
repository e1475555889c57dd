"""The lexical arm: BM25 over labels and definitions, plus exact label hits.

Exact titles and acronyms ("GQA", "t-SNE") are matched by a label table first:
they are what vector search is worst at and what a user typing them means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest.concepts import Concept
from ingest.text import fold

if TYPE_CHECKING:
    from retrieval.bm25 import BM25

_TOKEN = re.compile(r"[a-z0-9]+")
STOP = frozenset(
    """a an and are as at be by can do does for from how i in into is it its of on or than that the there these
    they this to was were what when where which why will with you your""".split()
)


def tokenize(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(fold(text)) if t not in STOP]


def _norm_label(text: str) -> str:
    return " ".join(_TOKEN.findall(fold(text)))


@dataclass
class LexicalHit:
    id: str
    score: float
    matched: str | None = None


def lexical_text(concept: Concept) -> str:
    """What BM25 indexes for a concept: labels (repeated, so that a title word outweighs a definition
    word) and every source's description."""
    return " ".join([concept.label] * 3 + concept.alt_labels * 2 + [d for d, _ in concept.descriptions()])


class LexicalIndex:
    """BM25 over :func:`lexical_text` plus a table of folded labels for exact hits.

    The BM25 arrays are computed once by the build (``index/lexical.npz``) and loaded
    by queries; without them (a build without ``--index``) they are computed here.
    """

    FILE = "lexical.npz"

    def __init__(self, concepts: list[Concept], bm25: BM25 | None = None) -> None:
        self.ids = [c.id for c in concepts]
        self._bm25 = bm25 or self.compute(concepts)
        if self._bm25.n_docs != len(self.ids):
            raise ValueError(f"the BM25 index holds {self._bm25.n_docs} documents for {len(self.ids)} concepts")
        self._labels: dict[str, list[tuple[str, str]]] = {}
        for c in concepts:
            for label in (c.label, *c.alt_labels):
                self._labels.setdefault(_norm_label(label), []).append((c.id, label))

    @staticmethod
    def compute(concepts: list[Concept]) -> BM25:
        from retrieval.bm25 import BM25

        return BM25([tokenize(lexical_text(c)) or ["_"] for c in concepts])

    def exact(self, query: str) -> list[tuple[str, str]]:
        """Concepts one of whose labels equals the query (case, accents, punctuation folded)."""
        return self._labels.get(_norm_label(query), [])

    def search(self, query: str, k: int) -> list[LexicalHit]:
        hits: list[LexicalHit] = []
        seen: set[str] = set()
        for cid, label in self.exact(query):
            if cid not in seen:
                seen.add(cid)
                hits.append(LexicalHit(cid, float("inf"), label))
        tokens = tokenize(query)
        if tokens:
            k_eff = min(k + len(hits), len(self.ids))
            for i, score in self._bm25.top(tokens, k_eff):
                cid = self.ids[i]
                if cid not in seen:
                    seen.add(cid)
                    hits.append(LexicalHit(cid, score))
        return hits[:k]
