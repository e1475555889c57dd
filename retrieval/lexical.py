"""The lexical arm: BM25 over labels and definitions, plus exact label hits.

Exact titles and acronyms ("GQA", "t-SNE") are matched by a label table first:
they are what vector search is worst at and what a user typing them means.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ingest.concepts import Concept
from ingest.text import fold

if TYPE_CHECKING:
    import numpy as np

    from retrieval.bm25 import BM25

_TOKEN = re.compile(r"[a-z0-9]+")
STOP = frozenset(
    """a an and are as at be by can do does for from how i in into is it its of on or than that the there these
    they this to was were what when where which why will with you your""".split()
)


#: What :func:`tokenize` does, saved beside the BM25 arrays: an index written by another tokenizer is refused.
TOKENIZER = "fold+stop+snowball-english"


_local = threading.local()


def _stemmer() -> Any:
    """Snowball's English stemmer (PyStemmer, the one bm25s uses): "retrieving" finds "retrieval",
    "probabilistic" finds "probability". On the training queries it raised lexical MRR 0.872 -> 0.919
    and hybrid 0.930 -> 0.948 (the training queries of ``python -m bench.fusion_tune``; BENCHMARKS.md).

    One per thread: a PyStemmer object keeps buffers and a cache that concurrent calls would share (its
    documentation: not thread-safe), and the API server answers searches from a thread pool."""
    found = getattr(_local, "stemmer", None)
    if found is None:
        import Stemmer

        found = _local.stemmer = Stemmer.Stemmer("english")
    return found


def tokenize(text: str) -> list[str]:
    """Folded words, stop words out, each stemmed: for BM25, the documents and the queries alike."""
    return _stemmer().stemWords([t for t in _TOKEN.findall(fold(text)) if t not in STOP])


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

    def __init__(self, ids: list[str], labels: dict[str, list[tuple[str, str]]], bm25: BM25) -> None:
        self.ids = ids
        self._bm25 = bm25
        if self._bm25.n_docs != len(self.ids):
            raise ValueError(f"the BM25 index holds {self._bm25.n_docs} documents for {len(self.ids)} concepts")
        self._labels = labels

    @classmethod
    def of(cls, concepts: list[Concept], bm25: BM25 | None = None) -> LexicalIndex:
        """From the concepts themselves (BM25 computed unless given): reads every concept document."""
        return cls([c.id for c in concepts], cls.label_table(concepts), bm25 or cls.compute(concepts))

    @staticmethod
    def label_table(concepts: list[Concept]) -> dict[str, list[tuple[str, str]]]:
        """Normalised label -> the concepts with that label or alt label, and the label as written."""
        labels: dict[str, list[tuple[str, str]]] = {}
        for c in concepts:
            for label in (c.label, *c.alt_labels):
                labels.setdefault(_norm_label(label), []).append((c.id, label))
        return labels

    @staticmethod
    def compute(concepts: list[Concept]) -> BM25:
        from retrieval.bm25 import BM25

        return BM25([tokenize(lexical_text(c)) or ["_"] for c in concepts])

    @classmethod
    def file_bytes(cls, concepts: list[Concept]) -> bytes:
        """:data:`FILE` as the build writes it: the BM25 arrays and the exact-label table, so opening
        search at 100k concepts validates no concept document (8 s when it read them all)."""
        rows = [(key, cid, label) for key, hits in cls.label_table(concepts).items() for cid, label in hits]
        # Strings as one NUL-joined UTF-8 block each: numpy's own str arrays pad every item to the
        # longest in UTF-32 (91 MB at 100k concepts against ~6 MB).
        import numpy as np

        return cls.compute(concepts).save(
            tokenizer=np.asarray([TOKENIZER]),
            label_count=np.asarray([len(rows)]),
            **{
                name: _joined([r[i] for r in rows]) for i, name in enumerate(("label_keys", "label_ids", "label_texts"))
            },
        )

    @classmethod
    def from_file(cls, data: bytes, ids: list[str]) -> LexicalIndex:
        """The index in :data:`FILE` for concepts ``ids`` (the build's order). Raises ValueError for a file
        another tokenizer made (every file from before stemming: they also lacked the label table) and
        ValueError/KeyError/OSError for a damaged one."""
        from retrieval.bm25 import BM25

        bm25, extra = BM25.load_with(data)
        written_by = str(extra["tokenizer"][0]) if "tokenizer" in extra else "fold+stop"
        if written_by != TOKENIZER:
            raise ValueError(f"its BM25 arrays were made by tokenizer {written_by!r}, this code uses {TOKENIZER!r}")
        count = int(extra["label_count"][0])
        keys, cids, texts = (_split(extra[name], count) for name in ("label_keys", "label_ids", "label_texts"))
        labels: dict[str, list[tuple[str, str]]] = {}
        for key, cid, label in zip(keys, cids, texts, strict=True):
            labels.setdefault(key, []).append((cid, label))
        return cls(ids, labels, bm25)

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


def _joined(strings: list[str]) -> np.ndarray:
    import numpy as np

    if any("\0" in x for x in strings):
        raise ValueError("a label contains NUL, which separates labels in the lexical index")
    return np.frombuffer("\0".join(strings).encode("utf-8"), dtype=np.uint8)


def _split(block: np.ndarray, count: int) -> list[str]:
    strings = block.tobytes().decode("utf-8").split("\0") if count else []
    if len(strings) != count:
        raise ValueError(f"the lexical index's label table holds {len(strings)} labels, not {count}")
    return strings
