"""A build on disk: writing one atomically, and opening one for queries.

``Workspace`` opens lazily: a graph-only command never loads the embedding
model, and ``ckg --help`` imports none of this.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ckg import __version__
from ckg.atomic import staged_directory
from ckg.config import Settings
from ckg.errors import BuildMissingError, CkgError, StrictModeError
from ingest.pipeline import run
from ingest.records import SOURCE_FILES
from ingest.report import IngestReport
from kg.build import build_quads, to_nquads
from kg.catalog import Catalog
from kg.graph import PrereqGraph
from kg.store import GraphStore


@dataclass
class BuildOutcome:
    report: IngestReport
    home: Path
    quads: int
    written: bool
    #: Vector-index statistics (``retrieval.indexer.IndexStats``) when one was built.
    index: Any = None


def source_hashes(sources: Path) -> dict[str, str]:
    out = {}
    for file in SOURCE_FILES.values():
        p = sources / file
        if p.exists():
            out[file] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def build(
    settings: Settings,
    *,
    strict: bool = False,
    index: bool = False,
    model: Any = None,
    progress: bool = False,
    hnsw_threshold: int | None = None,
) -> BuildOutcome:
    """Ingest ``settings.sources`` and write a complete build to ``settings.home``.

    Either every file of the build is replaced or none is: the new build (the
    vector index too, with ``index=True``) is written to a staging directory and
    swapped in with one rename.
    """
    ingest = run(settings.sources)
    report = ingest.report
    if report.errors:
        raise CkgError("; ".join(report.errors) + " (build not written; the previous build is untouched)")
    if strict and (report.rejected or report.warnings):
        raise StrictModeError(
            f"--strict: {report.rejected} rejected record(s) and {report.warnings} warning(s); "
            "build not written, the previous build is untouched"
        )
    quads = build_quads(ingest, settings.base_iri)
    data = to_nquads(quads)
    with staged_directory(settings.home) as stage:
        (stage / "dataset.nq").write_bytes(data)
        (stage / "report.json").write_text(report.model_dump_json(indent=2), "utf-8")
        manifest = {
            "ckg_version": __version__,
            "python": platform.python_version(),
            "base_iri": settings.base_iri,
            "sources": source_hashes(settings.sources),
            "dataset_sha256": hashlib.sha256(data).hexdigest(),
            "quads": len(set(quads)),
            "concepts": report.concepts,
            "edges": report.edges,
        }
        (stage / "build.json").write_text(json.dumps(manifest, indent=2), "utf-8")
        from kg.export import write_parquet

        catalog = _catalog_from(quads, settings.base_iri)
        write_parquet(catalog, stage)
        stats = None
        if index:
            from retrieval.index import DEFAULT_HNSW_THRESHOLD
            from retrieval.indexer import build_index

            stats = build_index(
                stage / "index",
                catalog,
                settings,
                model=model,
                progress=progress,
                hnsw_threshold=hnsw_threshold or DEFAULT_HNSW_THRESHOLD,
            )
    return BuildOutcome(report=report, home=settings.home, quads=len(set(quads)), written=True, index=stats)


def _catalog_from(quads: list, base_iri: str) -> Catalog:
    return Catalog(GraphStore.from_quads(quads), base_iri)


class Workspace:
    """An existing build, opened lazily piece by piece."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        if not settings.dataset_path.exists():
            raise BuildMissingError(f"no build in {settings.home}; run `ckg ingest` first (or set CKG_HOME)")

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return json.loads(self.settings.build_manifest_path.read_text("utf-8"))

    @cached_property
    def base_iri(self) -> str:
        return self.manifest.get("base_iri", self.settings.base_iri)

    @cached_property
    def store(self) -> GraphStore:
        return GraphStore.load(self.settings.dataset_path)

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.store, self.base_iri)

    @cached_property
    def graph(self) -> PrereqGraph:
        return PrereqGraph(((e.source, e.target) for e in self.catalog.edges()), self.catalog.concepts)

    @cached_property
    def report(self) -> IngestReport:
        return IngestReport.model_validate_json(self.settings.report_path.read_text("utf-8"))
