"""FAISS vector index with a manifest that must match the graph and the model.

Exact inner-product search (``IndexFlatIP``) below ``hnsw_threshold`` vectors,
HNSW above it. Vectors are L2-normalised, so inner product is cosine.
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


def concept_set_hash(ids: list[str], texts: list[str]) -> str:
    h = hashlib.sha256()
    for cid, text in zip(ids, texts, strict=True):
        h.update(f"{cid}\x1f{text}\x1e".encode())
    return h.hexdigest()


@dataclass
class VectorIndex:
    ids: list[str]
    index: Any
    manifest: dict[str, Any]

    @classmethod
    def build(
        cls,
        ids: list[str],
        vectors: np.ndarray,
        *,
        model: str,
        template_hash: str,
        concept_hash: str,
        hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
        hnsw_m: int = 32,
    ) -> VectorIndex:
        import faiss
        import numpy as np

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        if len(ids) >= hnsw_threshold:
            index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
            index.hnsw.efSearch = 64
            kind = "hnsw"
        else:
            index = faiss.IndexFlatIP(dim)
            kind = "flat"
        index.add(vectors)
        manifest = {
            "model": model,
            "dimension": dim,
            "normalized": True,
            "metric": "inner_product",
            "kind": kind,
            "count": len(ids),
            "template_hash": template_hash,
            "concept_set_hash": concept_hash,
            "versions": _versions(),
        }
        return cls(ids, index, manifest)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        import numpy as np

        k = min(k, len(self.ids))
        if k <= 0:
            return []
        scores, idx = self.index.search(np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32), k)
        return [(self.ids[i], float(s)) for i, s in zip(idx[0], scores[0], strict=True) if i >= 0]

    def vector(self, cid: str) -> np.ndarray:
        return self.index.reconstruct(self.ids.index(cid))

    def save(self, directory: Path) -> None:
        import faiss

        directory.mkdir(parents=True, exist_ok=True)
        write_bytes(directory / "vectors.faiss", faiss.serialize_index(self.index).tobytes())
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
        import faiss
        import numpy as np

        manifest_path = directory / "manifest.json"
        if not manifest_path.exists():
            raise IndexMismatchError(f"no vector index in {directory}; {REBUILD}")
        try:
            manifest = json.loads(manifest_path.read_text("utf-8"))
            ids = json.loads((directory / "ids.json").read_text("utf-8"))
            index = faiss.deserialize_index(np.frombuffer((directory / "vectors.faiss").read_bytes(), dtype=np.uint8))
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
        if index.d != manifest.get("dimension") or index.ntotal != len(ids):
            raise IndexMismatchError(f"index files in {directory} disagree with their manifest; {REBUILD}")
        if index.ntotal and hasattr(index, "reconstruct_n"):
            try:
                finite = bool(np.isfinite(index.reconstruct_n(0, index.ntotal)).all())
            except RuntimeError:  # an index kind that cannot reconstruct (none ckg writes today)
                finite = True
            if not finite:
                raise IndexMismatchError(f"vectors.faiss in {directory} holds non-finite vectors; {REBUILD}")
        return cls(ids, index, manifest)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"ckg": __version__}
    for pkg in ("faiss-cpu", "sentence-transformers", "torch", "numpy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            continue
    return out
