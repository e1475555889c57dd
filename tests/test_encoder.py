"""The ONNX encoder: same vectors as sentence-transformers, no torch on the query path, manifest checks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from ckg.errors import IndexMismatchError
from retrieval.embed import encoder_for_index


@pytest.mark.slow
def test_onnx_and_torch_vectors_agree_on_every_concept_text(indexed):
    """The index holds ONNX vectors; torch must give the same ones (cosine >= 0.999 on every text)."""
    from retrieval.embed import SentenceTransformerEmbedder
    from retrieval.indexer import corpus
    from retrieval.onnx_encoder import AGREEMENT
    from retrieval.service import SearchService

    ws, _ = indexed
    index = SearchService(ws).index
    assert index.manifest["encoder"]["kind"] == "onnx"
    ids, texts = corpus(ws.catalog)
    assert ids == index.ids
    torch_vectors = SentenceTransformerEmbedder().encode(texts)
    cosines = np.sum(torch_vectors * index.matrix(), axis=1)
    assert cosines.min() >= AGREEMENT, f"worst {cosines.min():.6f} on {ids[int(cosines.argmin())]}"


def test_export_manifest_records_the_weights_and_the_check(indexed):
    ws, _ = indexed
    recorded = json.loads((ws.settings.index_dir / "manifest.json").read_text())["encoder"]
    export = ws.settings.cache_dir / "onnx" / recorded["export"]
    manifest = json.loads((export / "encoder.json").read_text())
    assert manifest["source_sha256"] == recorded["source_sha256"] and manifest["onnx_sha256"] == recorded["onnx_sha256"]
    assert (manifest["model"], manifest["dimension"], manifest["pooling"]) == ("all-MiniLM-L6-v2", 384, "mean")
    assert manifest["agreement"] >= 0.999 and manifest["max_seq_length"] == 256


def test_a_query_never_imports_torch(indexed):
    ws, _ = indexed
    code = (
        "import sys; from ckg.config import Settings; from kg.workspace import Workspace; "
        "from retrieval.service import SearchService; "
        f"svc = SearchService(Workspace(Settings(home=__import__('pathlib').Path({str(ws.settings.home)!r})))); "
        "hits = svc.search('why divide dot products by the square root of the dimension', k=3); "
        "print(type(svc.embedder).__name__, hits[0].id, "
        "[m for m in ('torch', 'sentence_transformers', 'transformers', 'scipy', 'faiss') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split(" ", 2) == ["OnnxEmbedder", "high-dimensional-dot-product-normalization", "[]\n"]


def test_queries_refuse_an_export_other_than_the_one_that_made_the_vectors(indexed, tmp_path):
    ws, _ = indexed
    manifest = json.loads((ws.settings.index_dir / "manifest.json").read_text())
    changed = {**manifest, "encoder": {**manifest["encoder"], "onnx_sha256": "0" * 64}}
    with pytest.raises(IndexMismatchError, match="no ONNX export of all-MiniLM-L6-v2 matching"):
        encoder_for_index(changed, ws.settings.cache_dir, encoder="onnx")
    # auto falls back to torch, whose vectors agree with the export's (checked at export time)
    assert encoder_for_index(changed, ws.settings.cache_dir).kind == "torch"
    # a torch-built index may be queried through the export of the same weights
    torch_built = {**manifest, "encoder": {"kind": "torch", "source_sha256": manifest["encoder"]["source_sha256"]}}
    assert encoder_for_index(torch_built, ws.settings.cache_dir).kind == "onnx"
    other_weights = {**manifest, "encoder": {"kind": "torch", "source_sha256": "f" * 64}}
    with pytest.raises(IndexMismatchError):
        encoder_for_index(other_weights, ws.settings.cache_dir, encoder="onnx")


def test_export_refuses_a_model_it_cannot_reproduce(tmp_path):
    from ckg.errors import ModelError
    from retrieval.onnx_encoder import export

    (tmp_path / "modules.json").write_text(
        json.dumps([{"type": "sentence_transformers.models.Transformer"}, {"type": "x.Dense"}])
    )
    with pytest.raises(ModelError, match=r"transformer \+ mean pooling models only.*--encoder torch"):
        export(tmp_path, tmp_path / "out", "odd-model")
