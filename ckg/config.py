"""Where things live and which defaults apply, resolved once from the environment.

Paths are computed, never created here: creating directories is the job of the
code that writes into them (and does so atomically).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASE_IRI = "https://ckg.example.org/"
DEFAULT_MODEL = "all-MiniLM-L6-v2"


def _default_home() -> Path:
    env = os.environ.get("CKG_HOME")
    return Path(env) if env else REPO_ROOT / "data" / "build"


def _default_sources() -> Path:
    env = os.environ.get("CKG_SOURCES")
    return Path(env) if env else REPO_ROOT / "data" / "sources"


@dataclass(frozen=True)
class Settings:
    """Resolved locations and defaults for one run."""

    home: Path = field(default_factory=_default_home)
    sources: Path = field(default_factory=_default_sources)
    base_iri: str = field(default_factory=lambda: os.environ.get("CKG_BASE_IRI", DEFAULT_BASE_IRI))
    model: str = field(default_factory=lambda: os.environ.get("CKG_MODEL", DEFAULT_MODEL))
    #: ``auto`` (ONNX when the model can be exported, else torch), ``onnx`` or ``torch``.
    encoder: str = field(default_factory=lambda: os.environ.get("CKG_ENCODER", "auto"))
    #: A SPARQL 1.1 server holding the graph (``kg.remote``); None: the build's embedded store.
    store: str | None = field(default_factory=lambda: os.environ.get("CKG_STORE") or None)

    @property
    def dataset_path(self) -> Path:
        return self.home / "dataset.nq"

    @property
    def report_path(self) -> Path:
        return self.home / "report.json"

    @property
    def concepts_path(self) -> Path:
        return self.home / "concepts.json"

    @property
    def build_manifest_path(self) -> Path:
        return self.home / "build.json"

    @property
    def cache_dir(self) -> Path:
        """Cached vectors and ONNX exports. Beside the build, not inside it: a rebuild swaps the
        build directory atomically and the cache must survive that swap."""
        return self.home.parent / f"{self.home.name}-cache"

    @property
    def embedding_cache_path(self) -> Path:
        return self.cache_dir / "embeddings.parquet"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"
