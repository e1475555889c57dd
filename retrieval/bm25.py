"""Okapi BM25 over tokenised documents, in numpy: the scoring of bm25s without scipy.

Why not bm25s itself: importing it pulls scipy.sparse, ~200 ms of a cold
``ckg search`` whose whole budget is one second, for an index of a few
thousand short documents. The scoring is bm25s's default ("lucene" variant of
Kamphuis et al. 2020, k1 = 1.5, b = 0.75): idf = ln(1 + (N - df + 0.5) /
(df + 0.5)), term weight = idf * tf / (tf + k1 * (1 - b + b * |d| / avgdl)),
summed over the query's tokens (a repeated query token counts again);
``tests/test_bm25.py`` checks the scores against bm25s on the real concepts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

_OWN = frozenset({"vocab", "indptr", "docs", "weights", "params"})


class BM25:
    """Precomputed per-(term, document) weights in compressed sparse rows (one row per term)."""

    def __init__(self, docs: Sequence[Sequence[str]], *, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.n_docs = len(docs)
        self.vocab: dict[str, int] = {}
        terms: list[int] = []
        doc_ids: list[int] = []
        tfs: list[int] = []
        for i, doc in enumerate(docs):
            for term, tf in Counter(doc).items():
                terms.append(self.vocab.setdefault(term, len(self.vocab)))
                doc_ids.append(i)
                tfs.append(tf)
        lengths = np.asarray([len(d) for d in docs], dtype=np.float32)
        avg = float(lengths.mean()) if self.n_docs and lengths.mean() > 0 else 1.0
        term = np.asarray(terms, dtype=np.int64)
        doc = np.asarray(doc_ids, dtype=np.int32)
        tf = np.asarray(tfs, dtype=np.float32)
        df = np.bincount(term, minlength=len(self.vocab)).astype(np.float64)
        idf = np.log1p((self.n_docs - df + 0.5) / (df + 0.5))
        weight = idf[term] * tf / (tf + k1 * ((1 - b) + b * lengths[doc] / avg))
        order = np.argsort(term, kind="stable")
        self._docs = doc[order]
        self._weights = weight[order].astype(np.float32)
        self._indptr = np.concatenate([[0], np.cumsum(df.astype(np.int64))])

    def save(self, **extra: np.ndarray) -> bytes:
        """The index as ``.npz`` bytes (no pickles), for the build's index directory; ``extra`` arrays
        ride along (what the caller keeps beside the index, read back by :meth:`load_with`)."""
        import io

        buf = io.BytesIO()
        np.savez(
            buf,
            vocab=np.asarray(list(self.vocab), dtype=str),
            indptr=self._indptr,
            docs=self._docs,
            weights=self._weights,
            params=np.asarray([self.n_docs, self.k1, self.b], dtype=np.float64),
            **extra,
        )
        return buf.getvalue()

    @classmethod
    def load(cls, data: bytes) -> BM25:
        return cls.load_with(data)[0]

    @classmethod
    def load_with(cls, data: bytes) -> tuple[BM25, dict[str, np.ndarray]]:
        """The index and the extra arrays saved with it."""
        import io

        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            self = cls.__new__(cls)
            n_docs, self.k1, self.b = z["params"].tolist()
            self.n_docs = int(n_docs)
            self.vocab = {t: i for i, t in enumerate(z["vocab"].tolist())}
            self._indptr, self._docs, self._weights = z["indptr"], z["docs"], z["weights"]
            extra = {k: z[k] for k in z.files if k not in _OWN}
        if len(self._indptr) != len(self.vocab) + 1 or len(self._docs) != len(self._weights):
            raise ValueError("inconsistent BM25 arrays")
        return self, extra

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """The BM25 score of every document for ``tokens`` (0 where none occurs)."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        for token in tokens:
            t = self.vocab.get(token)
            if t is not None:
                lo, hi = self._indptr[t], self._indptr[t + 1]
                np.add.at(out, self._docs[lo:hi], self._weights[lo:hi])
        return out

    def top(self, tokens: Sequence[str], k: int) -> list[tuple[int, float]]:
        """The ``k`` best documents with a positive score, best first (ties: lower index first)."""
        scores = self.scores(tokens)
        k = min(k, self.n_docs)
        if k <= 0:
            return []
        candidates = np.argpartition(-scores, k - 1)[:k] if k < self.n_docs else np.arange(self.n_docs)
        order = candidates[np.lexsort((candidates, -scores[candidates]))]
        return [(int(i), float(scores[i])) for i in order if scores[i] > 0]
