"""Vector index and cache contracts on small seeded data (no model needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from retrieval.embed import Embedder, EmbeddingCache
from retrieval.index import VectorIndex


class FakeEmbedder(Embedder):
    """Deterministic vectors from a seeded hash of the text; counts what it encodes."""

    name = "fake-model"
    dim = 16

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts):
        self.calls += len(texts)
        out = []
        for t in texts:
            rng = np.random.default_rng(abs(hash(t)) % 2**32)
            v = rng.normal(size=self.dim).astype(np.float32)
            out.append(v / np.linalg.norm(v))
        return np.stack(out)


def _vectors(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize(("threshold", "kind"), [(10_000, "flat"), (100, "hnsw")])
def test_flat_and_hnsw_find_the_same_nearest(tmp_path, threshold, kind):
    vecs = _vectors(500)
    ids = [f"c{i}" for i in range(500)]
    idx = VectorIndex.build(ids, vecs, model="m", template_hash="t", concept_hash="h", hnsw_threshold=threshold)
    assert idx.manifest["kind"] == kind
    idx.save(tmp_path)
    loaded = VectorIndex.load(tmp_path, model="m", concept_hash="h", template_hash="t")
    hits = 0
    for i in range(0, 500, 25):
        top = loaded.search(vecs[i], 1)
        hits += top[0][0] == ids[i]
        assert top[0][1] == pytest.approx(1.0, abs=1e-4) or kind == "hnsw"
    assert hits == 20 if kind == "flat" else hits >= 19


def test_cache_encodes_only_new_texts(tmp_path):
    emb = FakeEmbedder()
    cache = EmbeddingCache(tmp_path / "cache.parquet")
    v1, n1 = cache.embed(emb, ["a", "b", "c"])
    cache.save()
    again = EmbeddingCache(tmp_path / "cache.parquet")
    v2, n2 = again.embed(emb, ["c", "a", "d"])
    assert (n1, n2) == (3, 1) and emb.calls == 4
    np.testing.assert_allclose(v2[0], v1[2])
    np.testing.assert_allclose(v2[1], v1[0])


def test_cache_key_depends_on_model():
    assert EmbeddingCache.key("m1", "text") != EmbeddingCache.key("m2", "text")


def test_registry_accepts_instance():
    from retrieval.embed import get_embedder

    emb = FakeEmbedder()
    assert get_embedder(emb) is emb


def test_unknown_model_path_is_a_clear_error():
    from ckg.errors import ModelError
    from retrieval.embed import get_embedder

    with pytest.raises(ModelError, match="nothing is downloaded at run time"):
        get_embedder("some/remote-model-name")


def test_cache_keeps_models_of_different_dimensions_apart(tmp_path):
    class Wide(FakeEmbedder):
        name, dim = "wide", 24

    narrow, wide = FakeEmbedder(), Wide()
    cache = EmbeddingCache(tmp_path / "cache.parquet")
    a, _ = cache.embed(narrow, ["x", "y"])
    b, _ = cache.embed(wide, ["y", "z"])
    cache.save()
    again = EmbeddingCache(tmp_path / "cache.parquet")
    assert len(again) == 4
    a2, n_a = again.embed(narrow, ["x", "y"])
    b2, n_b = again.embed(wide, ["y", "z"])
    assert (n_a, n_b) == (0, 0) and a2.shape == (2, a.shape[1]) and b2.shape == (2, 24)
    np.testing.assert_array_equal(a2, a)
    np.testing.assert_array_equal(b2, b)


def test_cache_reads_a_file_written_with_float64_lists(tmp_path):
    # The cache of earlier versions held Python floats (list<double>); it still loads.
    import pyarrow as pa
    import pyarrow.parquet as pq

    emb = FakeEmbedder()
    vecs = emb.encode(["a", "b"]).astype(np.float64)
    keys = [EmbeddingCache.key(emb.name, t) for t in ("a", "b")]
    pq.write_table(pa.table({"key": keys, "vector": [v.tolist() for v in vecs]}), tmp_path / "old.parquet")
    got, encoded = EmbeddingCache(tmp_path / "old.parquet").embed(emb, ["b", "a"])
    assert encoded == 0
    np.testing.assert_allclose(got, vecs[::-1].astype(np.float32))


def test_exact_search_ranks_as_faiss_index_flat_ip():
    import faiss

    vecs = _vectors(700, dim=32, seed=3)
    ids = [f"c{i}" for i in range(700)]
    idx = VectorIndex.build(ids, vecs, model="m", template_hash="t", concept_hash="h")
    flat = faiss.IndexFlatIP(32)
    flat.add(vecs)
    queries = _vectors(25, dim=32, seed=4)
    scores, rows = flat.search(queries, 10)
    for q, want_rows, want_scores in zip(queries, rows, scores, strict=True):
        got = idx.search(q, 10)
        assert [c for c, _ in got] == [ids[i] for i in want_rows]
        np.testing.assert_allclose([s for _, s in got], want_scores, rtol=1e-5)


def test_index_refuses_an_unknown_kind(tmp_path):
    from ckg.errors import IndexMismatchError

    vecs = _vectors(5)
    VectorIndex.build([f"c{i}" for i in range(5)], vecs, model="m", template_hash="t", concept_hash="h").save(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps({**manifest, "kind": "ivf"}))
    with pytest.raises(IndexMismatchError, match="cannot be read"):
        VectorIndex.load(tmp_path)


def test_encoder_registry_refuses_unknown_names():
    from ckg.errors import ModelError
    from retrieval.embed import encoder_for_index, get_embedder

    with pytest.raises(ModelError, match="unknown encoder 'tensorflow'"):
        get_embedder("all-MiniLM-L6-v2", encoder="tensorflow")
    with pytest.raises(ModelError, match="unknown encoder"):
        encoder_for_index({"model": "m"}, Path("/nonexistent"), encoder="jax")


def test_an_index_of_a_custom_encoder_is_not_queried_with_another(tmp_path):
    from ckg.errors import IndexMismatchError
    from retrieval.embed import encoder_for_index

    manifest = {"model": "fake-model", "encoder": {"kind": "custom"}}
    with pytest.raises(IndexMismatchError, match="'custom' encoder"):
        encoder_for_index(manifest, tmp_path)
    emb = FakeEmbedder()
    assert encoder_for_index(manifest, tmp_path, emb) is emb  # an instance is the caller's decision


def test_cache_keeps_encoders_apart():
    class Onnx(FakeEmbedder):
        kind = "onnx"

        @property
        def cache_id(self):
            return f"{self.name}+onnx"

    assert EmbeddingCache.key(FakeEmbedder().cache_id, "t") != EmbeddingCache.key(Onnx().cache_id, "t")
