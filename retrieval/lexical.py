"""The lexical arm: BM25 (bm25s) over labels and definitions, plus exact label hits.

Exact titles and acronyms ("GQA", "t-SNE") are matched by a label table first:
they are what vector search is worst at and what a user typing them means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.concepts import Concept
from ingest.text import fold

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


class LexicalIndex:
    def __init__(self, concepts: list[Concept]) -> None:
        import bm25s

        self.ids = [c.id for c in concepts]
        # Labels are repeated so that a title word outweighs a definition word.
        docs = [" ".join([c.label] * 3 + c.alt_labels * 2 + [c.definition or ""]) for c in concepts]
        self._bm25 = bm25s.BM25()
        self._bm25.index([tokenize(d) or ["_"] for d in docs], show_progress=False)
        self._labels: dict[str, list[tuple[str, str]]] = {}
        for c in concepts:
            for label in (c.label, *c.alt_labels):
                self._labels.setdefault(_norm_label(label), []).append((c.id, label))

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
            docs, scores = self._bm25.retrieve([tokens], k=k_eff, show_progress=False, n_threads=1)
            for i, s in zip(docs[0], scores[0], strict=True):
                cid = self.ids[int(i)]
                if s > 0 and cid not in seen:
                    seen.add(cid)
                    hits.append(LexicalHit(cid, float(s)))
        return hits[:k]
