"""Building the vector index of a build (called inside the build's staging directory)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ckg.config import Settings
from kg.catalog import Catalog
from retrieval.embed import TEMPLATE_HASH, Embedder, EmbeddingCache, concept_text, get_embedder
from retrieval.index import DEFAULT_HNSW_THRESHOLD, VectorIndex, concept_set_hash

if TYPE_CHECKING:
    import numpy as np


@dataclass
class IndexStats:
    model: str
    concepts: int
    encoded: int
    seconds: float


@dataclass
class BuiltIndex:
    """What a build needs after indexing: the figures, and the vectors for inference."""

    stats: IndexStats
    ids: list[str]
    vectors: np.ndarray
    #: Encodes further texts through the same model and cache (research-path phases, questions).
    embed: Callable[[list[str]], np.ndarray]


def corpus(catalog: Catalog) -> tuple[list[str], list[str]]:
    """Ids and embedding texts in id order: the order of the index."""
    ids = sorted(catalog.concepts)
    return ids, [concept_text(catalog.concepts[i]) for i in ids]


def build_index(
    directory: Path,
    catalog: Catalog,
    settings: Settings,
    *,
    model: str | Embedder | None = None,
    hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
) -> BuiltIndex:
    start = time.perf_counter()
    embedder = get_embedder(model or settings.model, encoder=settings.encoder, cache_dir=settings.cache_dir)
    ids, texts = corpus(catalog)
    cache = EmbeddingCache(settings.embedding_cache_path)
    vectors, encoded = cache.embed(embedder, texts)
    cache.save()
    index = VectorIndex.build(
        ids,
        vectors,
        model=embedder.name,
        encoder=embedder.describe(),
        template_hash=TEMPLATE_HASH,
        concept_hash=concept_set_hash(ids, texts),
        hnsw_threshold=hnsw_threshold,
    )
    index.save(directory)
    from ckg.atomic import write_bytes
    from retrieval.lexical import LexicalIndex

    concepts = [catalog.concepts[i] for i in ids]
    write_bytes(directory / LexicalIndex.FILE, LexicalIndex.compute(concepts).save())

    def embed(texts: list[str]) -> np.ndarray:
        vecs, _ = cache.embed(embedder, texts)
        cache.save()
        return vecs

    stats = IndexStats(embedder.name, len(ids), encoded, time.perf_counter() - start)
    return BuiltIndex(stats, ids, vectors, embed)
