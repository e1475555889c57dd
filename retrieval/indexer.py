"""Building the vector index of a build (called inside the build's staging directory)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ckg.atomic import write_text
from ckg.config import Settings
from kg.catalog import Catalog
from retrieval.embed import TEMPLATE_HASH, Embedder, EmbeddingCache, concept_texts, get_embedder
from retrieval.index import DEFAULT_HNSW_THRESHOLD, VectorIndex, concept_set_hash

if TYPE_CHECKING:
    import numpy as np


@dataclass
class IndexStats:
    model: str
    concepts: int
    #: Rows of the vector index: every text of every concept.
    texts: int
    encoded: int
    seconds: float


@dataclass
class BuiltIndex:
    """What a build needs after indexing: the figures, and the vectors for inference."""

    stats: IndexStats
    #: One per concept, in id order, with the vector of the concept's own text.
    ids: list[str]
    vectors: np.ndarray
    #: Encodes further texts through the same model and cache (research-path phases, questions).
    embed: Callable[[list[str]], np.ndarray]


#: Beside the index: where each row's text comes from, so queries need not re-derive the texts.
ORIGINS = "origins.json"


def corpus(catalog: Catalog) -> tuple[list[str], list[str]]:
    """Row ids and embedding texts in id order, the order of the index: each concept's own text
    (:func:`concept_text`) first, then its other sources' descriptions (:func:`concept_texts`)."""
    ids, texts, _ = rows(catalog)
    return ids, texts


def rows(catalog: Catalog) -> tuple[list[str], list[str], list[str | None]]:
    """:func:`corpus` plus where each row comes from (``file:line``; None for a concept's own text)."""
    ids: list[str] = []
    texts: list[str] = []
    origins: list[str | None] = []
    for cid in sorted(catalog.concepts):
        for text, origin in concept_texts(catalog.concepts[cid]):
            ids.append(cid)
            texts.append(text)
            origins.append(origin)
    return ids, texts, origins


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
    ids, texts, origins = rows(catalog)
    cache = EmbeddingCache(settings.embedding_cache_path)
    vectors, encoded = cache.embed(embedder, texts)
    cache.save()
    own = [i for i, cid in enumerate(ids) if i == 0 or ids[i - 1] != cid]  # each concept's own text
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
    write_text(directory / ORIGINS, json.dumps(origins))
    from ckg.atomic import write_bytes
    from retrieval.lexical import LexicalIndex

    concepts = [catalog.concepts[ids[i]] for i in own]
    write_bytes(directory / LexicalIndex.FILE, LexicalIndex.file_bytes(concepts))

    def embed(texts: list[str]) -> np.ndarray:
        vecs, _ = cache.embed(embedder, texts)
        cache.save()
        return vecs

    stats = IndexStats(embedder.name, len(own), len(ids), encoded, time.perf_counter() - start)
    return BuiltIndex(stats, [ids[i] for i in own], vectors[own], embed)
