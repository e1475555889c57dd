"""The vector index of a build, with a manifest that must match the graph and the model.

Exact inner-product search below ``hnsw_threshold`` vectors, a FAISS HNSW graph
above it. Vectors are L2-normalised, so inner product is cosine.

Exact search is what FAISS's ``IndexFlatIP`` does, a matrix product and a
top-k; below the threshold it runs in numpy on ``vectors.npy`` so that a cold
query does not pay the ~170 ms import of faiss (BENCHMARKS.md, cold start).
The results are the same; ``tests/test_index_unit.py`` checks them against
``IndexFlatIP``. HNSW indexes are written and searched with faiss
(``vectors.faiss``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ckg import __version__
from ckg.atomic import write_bytes, write_text
from ckg.errors import IndexMismatchError

if TYPE_CHECKING:
    import numpy as np

#: Exact search up to here: at 100k vectors a flat index answers in ~15 ms (p50, 2 cores) while an HNSW
#: graph (M=32, efConstruction=80) takes ~52 s to build; at 150k flat is ~23 ms. See BENCHMARKS.md.
DEFAULT_HNSW_THRESHOLD = 150_000
REBUILD = "run `ckg ingest` to rebuild the index"
#: The file holding the vectors, by index kind.
VECTOR_FILES = {"flat": "vectors.npy", "hnsw": "vectors.faiss"}


def concept_set_hash(ids: list[str], texts: list[str]) -> str:
    h = hashlib.sha256()
    for cid, text in zip(ids, texts, strict=True):
        h.update(f"{cid}\x1f{text}\x1e".encode())
    return h.hexdigest()


@dataclass
class VectorIndex:
    """Rows of vectors; ``ids[row]`` is the concept a row belongs to. A concept has one row per text
    (its own text first, then its other sources' descriptions), so queries rank concepts by their
    best row (:meth:`search_concepts`)."""

    ids: list[str]
    manifest: dict[str, Any]
    #: Exact search: the matrix itself (float32, one row per id).
    vectors: np.ndarray | None = None
    #: Approximate search: a faiss index.
    ann: Any = None

    @classmethod
    def build(
        cls,
        ids: list[str],
        vectors: np.ndarray,
        *,
        model: str,
        template_hash: str,
        concept_hash: str,
        encoder: dict[str, Any] | None = None,
        hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
        hnsw_m: int = 32,
    ) -> VectorIndex:
        import numpy as np

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        ann = None
        if len(ids) >= hnsw_threshold:
            import faiss

            ann = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            ann.hnsw.efConstruction = 80
            ann.hnsw.efSearch = 64
            ann.add(vectors)
            kind = "hnsw"
        else:
            kind = "flat"
        manifest = {
            "model": model,
            "encoder": encoder or {"kind": "custom"},
            "dimension": dim,
            "normalized": True,
            "metric": "inner_product",
            "kind": kind,
            "count": len(ids),
            "template_hash": template_hash,
            "concept_set_hash": concept_hash,
            "versions": _versions(),
        }
        return cls(ids, manifest, None if ann is not None else vectors, ann)

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @staticmethod
    def files(manifest: dict[str, Any]) -> list[str]:
        """The files of an index directory, manifest first."""
        return ["manifest.json", "ids.json", VECTOR_FILES.get(str(manifest.get("kind")), "vectors.npy")]

    def search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The ``k`` nearest concepts (by their best row) with their cosine, best first."""
        return [(cid, score) for cid, score, _ in self.search_concepts(vector, k)]

    def search_concepts(self, vector: np.ndarray, k: int) -> list[tuple[str, float, int]]:
        """The ``k`` concepts whose best row is closest: ``(id, score, row)``, best first."""
        rows = len(self.ids)
        if rows == 0 or k <= 0:
            return []
        width = min(rows, 4 * k)
        while True:
            out: list[tuple[str, float, int]] = []
            seen: set[str] = set()
            hits = self._rows(vector, width)
            for row, score in hits:
                cid = self.ids[row]
                if cid not in seen:
                    seen.add(cid)
                    out.append((cid, score, row))
            if len(out) >= k or width >= rows:
                return out[:k]
            width = min(rows, width * 4)

    def _rows(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        import numpy as np

        query = np.ascontiguousarray(vector.reshape(-1), dtype=np.float32)
        if self.ann is not None:
            scores, idx = self.ann.search(query.reshape(1, -1), k)
            return [(int(i), float(s)) for i, s in zip(idx[0], scores[0], strict=True) if i >= 0]
        assert self.vectors is not None
        sims = self.vectors @ query
        top = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
        order = top[np.lexsort((top, -sims[top]))]
        return [(int(i), float(sims[i])) for i in order.tolist()]

    def matrix(self) -> np.ndarray:
        """Every row's vector, in row order."""
        if self.vectors is not None:
            return self.vectors
        return self.ann.reconstruct_n(0, self.ann.ntotal)

    @property
    def first_rows(self) -> dict[str, int]:
        """Each concept's own row (its first)."""
        cached = self.__dict__.get("_first_rows")
        if cached is None:
            cached = {}
            for row, cid in enumerate(self.ids):
                cached.setdefault(cid, row)
            self.__dict__["_first_rows"] = cached
        return cached

    def concept_ids(self) -> list[str]:
        return list(self.first_rows)

    def concept_matrix(self) -> np.ndarray:
        """One vector per concept (its own text), in :meth:`concept_ids` order."""
        return self.matrix()[list(self.first_rows.values())]

    def vector(self, cid: str) -> np.ndarray:
        i = self.first_rows[cid]
        return self.vectors[i] if self.vectors is not None else self.ann.reconstruct(i)

    def save(self, directory: Path) -> None:
        import io

        import numpy as np

        directory.mkdir(parents=True, exist_ok=True)
        if self.ann is not None:
            import faiss

            write_bytes(directory / VECTOR_FILES["hnsw"], faiss.serialize_index(self.ann).tobytes())
        else:
            buf = io.BytesIO()
            np.save(buf, self.vectors, allow_pickle=False)
            write_bytes(directory / VECTOR_FILES["flat"], buf.getvalue())
        write_text(directory / "ids.json", json.dumps(self.ids))
        write_text(directory / "manifest.json", json.dumps(self.manifest, indent=2, sort_keys=True))

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        model: str | None = None,
        concept_hash: str | None = None,
        template_hash: str | None = None,
    ) -> VectorIndex:
        """Load an index, refusing one that does not belong to this graph or model."""
        import numpy as np

        manifest_path = directory / "manifest.json"
        if not manifest_path.exists():
            raise IndexMismatchError(f"no vector index in {directory}; {REBUILD}")
        try:
            manifest = json.loads(manifest_path.read_text("utf-8"))
            ids = json.loads((directory / "ids.json").read_text("utf-8"))
            kind = manifest.get("kind")
            if kind not in VECTOR_FILES:
                raise ValueError(f"unknown index kind {kind!r}")
            vectors = ann = None
            if kind == "hnsw":
                import faiss

                raw = np.frombuffer((directory / VECTOR_FILES["hnsw"]).read_bytes(), dtype=np.uint8)
                ann = faiss.deserialize_index(raw)
                shape = (ann.ntotal, ann.d)
            else:
                vectors = np.load(directory / VECTOR_FILES["flat"], allow_pickle=False)
                shape = vectors.shape
        except (OSError, ValueError, RuntimeError) as exc:
            raise IndexMismatchError(
                f"index files in {directory} cannot be read ({exc.__class__.__name__}); {REBUILD}"
            ) from None
        if model is not None and manifest.get("model") != model:
            raise IndexMismatchError(
                f"index in {directory} was built with model {manifest.get('model')!r}, not {model!r}; "
                f"{REBUILD} (with --model {model})"
            )
        if template_hash is not None and manifest.get("template_hash") != template_hash:
            raise IndexMismatchError(f"index in {directory} used another text template; {REBUILD}")
        if concept_hash is not None and manifest.get("concept_set_hash") != concept_hash:
            raise IndexMismatchError(f"index in {directory} does not match the concepts of this graph; {REBUILD}")
        if len(shape) != 2 or shape[1] != manifest.get("dimension") or shape[0] != len(ids):
            raise IndexMismatchError(f"index files in {directory} disagree with their manifest; {REBUILD}")
        index = cls(ids, manifest, None if vectors is None else vectors.astype(np.float32, copy=False), ann)
        if shape[0] and not bool(np.isfinite(index.matrix()).all()):
            raise IndexMismatchError(f"the vectors in {directory} are not all finite; {REBUILD}")
        return index


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"ckg": __version__}
    for pkg in ("faiss-cpu", "onnxruntime", "sentence-transformers", "torch", "numpy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            continue
    return out
