"""Cosine k-NN among a subset of concepts, exact or approximate by size (FAISS)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

APPROXIMATE_ABOVE = 50_000  # members: exact k-NN up to here, IVF above
NPROBE = 16


class Neighbours:
    """Cosine k-NN of given vectors among one subset of concepts (the members).

    Exact (FAISS flat inner product) up to ``APPROXIMATE_ABOVE`` members; above
    that an inverted-file index (IVF-Flat, ~sqrt(n) lists, ``NPROBE`` probed),
    because exact k-NN of every concept that needs inference against 100k
    members is O(n^2) - tens of seconds on two cores - and an HNSW graph costs
    about a minute to build at 100k. Ties break by member order in both.
    """

    def __init__(self, ids: list[str], vectors: np.ndarray, members: Iterable[str]) -> None:
        row = {cid: i for i, cid in enumerate(ids)}
        self.members = [m for m in members if m in row]
        self.matrix = np.ascontiguousarray(
            vectors[[row[m] for m in self.members]] if self.members else np.zeros((0, vectors.shape[1])),
            dtype=np.float32,
        )
        self._index = None

    def _search(self, queries: np.ndarray, kk: int) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        if self._index is None:
            n, dim = self.matrix.shape
            if n > APPROXIMATE_ABOVE:
                lists = int(math.sqrt(n))
                index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
                index.cp.seed = 0
                index.train(self.matrix)
                index.nprobe = NPROBE
            else:
                index = faiss.IndexFlatIP(dim)
            index.add(self.matrix)
            self._index = index
        return self._index.search(np.ascontiguousarray(queries, dtype=np.float32), kk)

    def all_of(self, ids: list[str], vectors: np.ndarray, k: int) -> dict[str, list[tuple[str, float]]]:
        """The ``k`` nearest members (never itself) of each concept in ``ids``, whose vectors are ``vectors``."""
        if not self.members or not ids:
            return {cid: [] for cid in ids}
        sims, found = self._search(vectors, min(k + 1, len(self.members)))
        out: dict[str, list[tuple[str, float]]] = {}
        for cid, row_sims, row_found in zip(ids, sims.tolist(), found.tolist(), strict=True):
            pairs = sorted((-s, i) for s, i in zip(row_sims, row_found, strict=True) if i >= 0)
            out[cid] = [(self.members[i], -s) for s, i in pairs if self.members[i] != cid][:k]
        return out
