"""The sentence encoder without torch: the model exported once to ONNX, run by onnxruntime.

Why: importing torch and loading the model through sentence-transformers is
~5 s and ~550 MiB before a cold ``ckg search`` can answer; onnxruntime with the
model's own ``tokenizers`` tokenizer loads in ~0.3 s and encodes a query in
~5 ms instead of ~13 ms. It also encodes a build's concepts faster (16 s
against 19 s for 1,191 texts on 2 cores, BENCHMARKS.md), so builds use it too
and torch is only imported to export.

The export runs offline from the packaged weights (``torch.onnx.export`` of the
Hugging Face model with eager attention, then onnxruntime's BERT fusions) and
is checked against the sentence-transformers pipeline on probe texts before it
is kept: cosine >= :data:`AGREEMENT` on every probe, else it is refused.
Each export lives in its own directory named by the model and a digest of its
source files, beside an ``encoder.json`` manifest; the index manifest records
which export made its vectors and a query refuses an export that does not
match (see ``retrieval.service``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ckg.errors import ModelError
from ckg.integrity import combined_sha256
from ckg.progress import counted, stage
from retrieval.embed import Embedder

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger("ckg")

#: Minimum cosine between the ONNX and the torch vector of the same text.
AGREEMENT = 0.999
OPSET = 17
BATCH = 32
MANIFEST = "encoder.json"
#: The exported graph and its weights (external data, so that onnxruntime can map them).
MODEL_FILES = ("model.onnx", "model.onnx.data")
#: Files of a sentence-transformers directory that decide what the vectors are.
SOURCE_FILES = (
    "config.json",
    "model.safetensors",
    "pytorch_model.bin",
    "tokenizer.json",
    "sentence_bert_config.json",
    "modules.json",
    "1_Pooling/config.json",
)
PROBES = (
    "Backpropagation computes gradients layer by layer with the chain rule.",
    "Scaled dot-product attention divides by the square root of the key dimension.",
    "PCA",
    "Why do transformers need positional encodings when attention is permutation invariant? " * 8,
)


def source_digest(model_dir: Path) -> str:
    """sha256 over the files that decide the vectors (weights, tokenizer, pooling)."""
    return combined_sha256(model_dir, SOURCE_FILES, skip_missing=True)


def _files_digest(directory: Path) -> str:
    """sha256 over the graph and its external weights (both decide the vectors)."""
    return combined_sha256(directory, MODEL_FILES)


def export_dir(cache_dir: Path, model_name: str, digest: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(model_name).name).strip("-") or "model"
    return cache_dir / "onnx" / f"{slug}-{digest[:12]}"


def _pipeline(model_dir: Path) -> dict[str, Any]:
    """The sentence-transformers pipeline this encoder reproduces, or a ModelError saying why not."""

    def read(name: str) -> Any:
        path = model_dir / name
        return json.loads(path.read_text("utf-8")) if path.exists() else None

    modules = read("modules.json") or []
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    pooling = read("1_Pooling/config.json") or {}
    if kinds[:2] != ["Transformer", "Pooling"] or not pooling.get("pooling_mode_mean_tokens"):
        raise ModelError(
            f"{model_dir}: the ONNX encoder reproduces transformer + mean pooling models only "
            f"(this one is {kinds or 'not a sentence-transformers directory'}); use --encoder torch"
        )
    if not (model_dir / "tokenizer.json").exists():
        raise ModelError(f"{model_dir} has no tokenizer.json (a fast tokenizer); use --encoder torch")
    st = read("sentence_bert_config.json") or {}
    return {"max_seq_length": int(st.get("max_seq_length") or 256), "pooling": "mean"}


def export(model_dir: Path, target: Path, model_name: str) -> Path:
    """Export ``model_dir`` to ``target`` (atomically) and return ``target``; needs torch."""
    digest = source_digest(model_dir)
    pipeline = _pipeline(model_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    try:
        with stage(f"exporting {model_name} to ONNX (once per model)"):
            dim = _export_graph(model_dir, staging / "model.onnx")
        encoder = OnnxEmbedder(model_name, model_dir, staging, manifest={"dimension": dim, **pipeline})
        worst = _agreement(model_dir, encoder)
        if worst < AGREEMENT:
            raise ModelError(
                f"the ONNX export of {model_name} disagrees with sentence-transformers (cosine {worst:.5f} "
                f"< {AGREEMENT}); use --encoder torch"
            )
        manifest = {
            "model": model_name,
            "source_sha256": digest,
            "onnx_sha256": _files_digest(staging),
            "dimension": dim,
            "opset": OPSET,
            "agreement": round(worst, 7),
            "versions": _versions(),
            **pipeline,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), "utf-8")
        if target.exists():
            shutil.rmtree(target)
        staging.chmod(0o755)  # mkdtemp made it private; the cache is as readable as the build
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _export_graph(model_dir: Path, out: Path) -> int:
    import warnings

    import torch
    from onnxruntime.transformers import optimizer
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    # Eager attention: the SDPA path traces into a graph onnxruntime cannot fuse (2x slower batches).
    base = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class Hidden(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    dummy = tuple(torch.ones(2, 8, dtype=torch.long) for _ in names)
    raw = out.with_suffix(".raw.onnx")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Hidden(base),
            dummy,
            str(raw),
            dynamo=False,
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
            opset_version=OPSET,
        )
        cfg = base.config
        fused = optimizer.optimize_model(
            str(raw), model_type="bert", num_heads=cfg.num_attention_heads, hidden_size=cfg.hidden_size, opt_level=1
        )
        # Weights as external data: onnxruntime memory-maps them, so a cold load is ~60 ms and ~120 MiB
        # instead of ~210 ms and ~200 MiB (the protobuf and its copy in memory at once).
        fused.save_model_to_file(str(out), use_external_data_format=True, all_tensors_to_one_file=True)
    raw.unlink()
    return int(cfg.hidden_size)


def _agreement(model_dir: Path, encoder: OnnxEmbedder) -> float:
    import numpy as np
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(model_dir), device="cpu")
    want = reference.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True)
    got = encoder.encode(list(PROBES))
    return float(np.min(np.sum(want * got, axis=1)))


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("onnxruntime", "tokenizers", "torch", "transformers"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            continue
    return out


def read_manifest(directory: Path) -> dict[str, Any] | None:
    try:
        return json.loads((directory / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return None


class OnnxEmbedder(Embedder):
    """all-MiniLM-L6-v2 (or any mean-pooled BERT-like model) through onnxruntime; no torch.

    Tokenisation is the model's own ``tokenizer.json`` (Rust ``tokenizers``), truncated at the
    model's ``max_seq_length`` and padded to the longest text of a batch; batches are formed
    from texts of similar length, then mean pooling over the attention mask and L2
    normalisation, as sentence-transformers does.
    """

    kind = "onnx"

    def __init__(self, name: str, model_dir: Path, directory: Path, manifest: dict[str, Any] | None) -> None:
        self.name = name
        self.model_dir = model_dir
        self.directory = directory
        self.manifest = manifest
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.RLock()

    @property
    def cache_id(self) -> str:  # type: ignore[override]
        return f"{self.name}+onnx"

    @property
    def dim(self) -> int:  # type: ignore[override]
        assert self.manifest is not None
        return int(self.manifest["dimension"])

    def describe(self) -> dict[str, Any]:
        """What the index manifest records about the encoder that made its vectors."""
        return {
            "kind": self.kind,
            "export": self.directory.name,
            "source_sha256": self.manifest["source_sha256"],
            "onnx_sha256": self.manifest["onnx_sha256"],
        }

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                try:
                    import onnxruntime as ort
                    from tokenizers import Tokenizer
                except ImportError as exc:  # pragma: no cover - both are dependencies
                    raise ModelError(f"the ONNX encoder needs onnxruntime and tokenizers: {exc}") from exc
                log.info("loading model %s (onnx)…", self.name)
                max_len = int(self.manifest["max_seq_length"])
                tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
                # tokenizer.json may pin padding (this one pads every text to 128 tokens, 6x the work of a
                # short query): no padding here, encode() pads each batch to its longest text.
                tokenizer.enable_truncation(max_len)
                tokenizer.no_padding()
                options = ort.SessionOptions()
                options.inter_op_num_threads = 1
                options.intra_op_num_threads = min(4, os.cpu_count() or 1)
                # No busy-waiting after a run: spinning threads would take the cores numpy needs next
                # (a 0.06 ms matrix product took 4 ms right after an encode).
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                options.log_severity_level = 3
                try:
                    self._session = ort.InferenceSession(
                        str(self.directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
                    )
                except Exception as exc:
                    raise ModelError(
                        f"cannot load the ONNX encoder in {self.directory}: {exc}; run `ckg ingest`"
                    ) from exc
                self._tokenizer = tokenizer
            return self._session, self._tokenizer

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            session, tokenizer = self._load()
            encodings = tokenizer.encode_batch(texts)
        lengths = np.asarray([len(e.ids) for e in encodings])
        order = np.argsort(-lengths, kind="stable")  # similar lengths share a batch: little padding
        pooled = np.empty((len(texts), self.dim), dtype=np.float32)
        with counted(len(texts) if len(texts) > BATCH else 0, "texts encoded") as advance:
            for start in range(0, len(texts), BATCH):
                chunk = order[start : start + BATCH]
                width = int(lengths[chunk].max())
                ids = np.zeros((len(chunk), width), dtype=np.int64)
                mask = np.zeros((len(chunk), width), dtype=np.int64)
                for row, i in enumerate(chunk):
                    ids[row, : lengths[i]] = encodings[i].ids
                    mask[row, : lengths[i]] = encodings[i].attention_mask
                with self._lock:  # one forward pass at a time; the server encodes from a thread pool
                    (hidden,) = session.run(
                        None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
                    )
                weights = mask[..., None].astype(np.float32)
                pooled[chunk] = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
                advance(len(chunk))
        out = pooled
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.ascontiguousarray(out / np.clip(norms, 1e-12, None), dtype=np.float32)


def open_export(cache_dir: Path, name: str, model_dir: Path, recorded: dict[str, Any]) -> OnnxEmbedder | None:
    """The export an index manifest names, if it is still there and unchanged; None otherwise."""
    directory = cache_dir / "onnx" / str(recorded.get("export", ""))
    manifest = read_manifest(directory)
    if (
        manifest is None
        or (recorded.get("onnx_sha256") and manifest.get("onnx_sha256") != recorded["onnx_sha256"])
        or manifest.get("source_sha256") != recorded.get("source_sha256")
        or not all((directory / f).is_file() for f in MODEL_FILES)
    ):
        return None
    return OnnxEmbedder(name, model_dir, directory, manifest)


def prepare(cache_dir: Path, name: str, model_dir: Path) -> OnnxEmbedder:
    """The ONNX encoder of a model for a build: the existing export if it matches the weights, else a new one."""
    digest = source_digest(model_dir)
    directory = export_dir(cache_dir, name, digest)
    manifest = read_manifest(directory)
    if (
        manifest is None
        or manifest.get("source_sha256") != digest
        or not all((directory / f).is_file() for f in MODEL_FILES)
    ):
        export(model_dir, directory, name)
        manifest = read_manifest(directory)
    return OnnxEmbedder(name, model_dir, directory, manifest)
