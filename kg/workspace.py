"""A build on disk: writing one atomically, and opening one for queries.

``Workspace`` opens lazily: a graph-only command never loads the embedding
model, and ``ckg --help`` imports none of this.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ckg import __version__
from ckg.atomic import check_replaceable, home_lock, staged_directory
from ckg.config import Settings
from ckg.errors import BuildDamagedError, BuildMissingError, CkgError, StrictModeError
from ckg.integrity import REBUILD_HINT, check_file, check_size, file_digests
from ckg.memory import release_memory
from ckg.progress import stage
from ingest.records import SOURCE_FILES
from ingest.report import IngestReport
from kg.catalog import Catalog
from kg.store import STORE_DIR, STORE_RECORD, GraphStore, write_store

if TYPE_CHECKING:
    from ingest.records import PathRecord
    from ingest.resolve import SlugMatcher
    from kg.graph import PrereqGraph
    from kg.remote import RemoteStore


#: Beside ``catalog.json``: where each concept's document lies, the label table and the edges.
CATALOG_INDEX = "catalog.index"


@dataclass
class BuildOutcome:
    report: IngestReport
    home: Path
    quads: int
    written: bool
    #: Vector-index statistics (``retrieval.indexer.IndexStats``) when one was built.
    index: Any = None
    #: What inference added (counts by kind), when the build had vectors to infer from.
    inference: dict[str, Any] | None = None
    #: Wall seconds per stage, in the order they ran (what ``make bench`` reports at scale).
    stages: dict[str, float] = field(default_factory=dict)


class _Stages(dict):
    """Times named stages (``with stages("parse + resolve"): ...``) and reports them as progress."""

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            with stage(name):
                yield
        finally:
            self[name] = self.get(name, 0.0) + time.perf_counter() - start


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
    hnsw_threshold: int | None = None,
) -> BuildOutcome:
    """Ingest ``settings.sources`` and write a complete build to ``settings.home``.

    Either every file of the build is replaced or none is: the new build (the
    vector index too, with ``index=True``) is written to a staging directory and
    swapped in with one rename.
    """
    check_replaceable(settings.home)  # before any work: a wrong --home is an error at once
    with home_lock(settings.home):
        return _build(settings, strict=strict, index=index, model=model, hnsw_threshold=hnsw_threshold)


def _build(
    settings: Settings,
    *,
    strict: bool,
    index: bool,
    model: Any,
    hnsw_threshold: int | None,
) -> BuildOutcome:
    from ingest.pipeline import run
    from kg.build import build_lines, sorted_lines, spill, write_nquads

    stages = _Stages()
    with stages("parse + resolve"):
        ingest = run(settings.sources)
    report = ingest.report
    if report.errors:
        raise CkgError("; ".join(report.errors) + " (build not written; the previous build is untouched)")
    if strict and (report.rejected or report.warnings):
        raise StrictModeError(
            f"--strict: {report.rejected} rejected record(s) and {report.warnings} warning(s); "
            "build not written, the previous build is untouched"
        )
    with staged_directory(settings.home) as stage:
        stats = inference = built = None
        asserted = stage / ".asserted.nq"
        with stages("RDF quads"):
            # The asserted graph's N-Quads lines wait on disk (~0.9 GB at 100k concepts) through the build's
            # longest and largest stages; they are merged with the inferred graph's when the dataset is written.
            lines = build_lines(ingest, settings.base_iri)
            spill(lines, asserted)
        with stages("catalog"):
            catalog = Catalog.from_ingest(ingest, settings.base_iri)
            expert = _expert(catalog, ingest.resolution.matcher) if index else None
        research_path = ingest.path
        del ingest  # nothing below needs its records and resolutions (~1 GB at 100k concepts)
        release_memory()
        if index:
            from retrieval.index import DEFAULT_HNSW_THRESHOLD
            from retrieval.indexer import build_index

            with stages("embeddings + vector index"):
                built = build_index(
                    stage / "index",
                    catalog,
                    settings,
                    model=model,
                    hnsw_threshold=hnsw_threshold or DEFAULT_HNSW_THRESHOLD,
                )
            stats = built.stats
            with stages("inference"):
                inference = _infer(research_path, catalog, built, settings.base_iri, expert)
                catalog.add_inferred(inference.quads)
                lines += sorted_lines(inference.quads)
        with stages("N-Quads"):
            distinct, dataset_sha256 = write_nquads(lines, stage / "dataset.nq", spilled=asserted)  # each quad once
            asserted.unlink()
        with stages("catalog snapshot + report"):
            snapshot, snapshot_index = catalog.snapshot_files()
            (stage / "catalog.json").write_bytes(snapshot)
            (stage / CATALOG_INDEX).write_bytes(snapshot_index)
            (stage / "report.json").write_text(report.model_dump_json(indent=2), "utf-8")
        summary = inference.summary if inference else None
        manifest = {
            "ckg_version": __version__,
            "python": platform.python_version(),
            "base_iri": settings.base_iri,
            "sources": source_hashes(settings.sources),
            "dataset_sha256": dataset_sha256,
            "quads": distinct,
            "concepts": report.concepts,
            "edges": report.edges,
            "inference": summary,
            "catalog_sha256": hashlib.sha256(snapshot).hexdigest(),
        }
        del snapshot, snapshot_index
        from kg.export import write_parquet

        with stages("Parquet export"):
            write_parquet(catalog, stage)
        # The store's bulk loader is the last large allocation (~1.8 GB at 100k concepts): the catalog, the
        # vectors and the inferred quads (~1.5 GB more) are no longer needed and go first.
        del catalog, inference, built
        release_memory()
        with stages("persistent store"):
            record = write_store(stage / "dataset.nq", stage / STORE_DIR) | {"dataset_sha256": dataset_sha256}
            (stage / STORE_RECORD).write_text(json.dumps(record, indent=2, sort_keys=True), "utf-8")
        # Size and hash of every file, checked when a part is opened: a damaged or edited build is one
        # clear error naming the file, not a traceback or an answer from files that disagree.
        manifest["files"] = file_digests(stage)
        (stage / "build.json").write_text(json.dumps(manifest, indent=2), "utf-8")
    return BuildOutcome(
        report=report,
        home=settings.home,
        quads=distinct,
        written=True,
        index=stats,
        inference=summary,
        stages=dict(stages),
    )


@dataclass
class _Inferred:
    quads: list
    summary: dict[str, Any]


def _infer(
    path: PathRecord | None, catalog: Catalog, built: Any, base_iri: str, expert: dict[str, set[str]] | None
) -> _Inferred:
    """Inferred prerequisites, taxonomy, values and research-path links (``path``: the research path, if a
    source gave one), as quads for the inferred graph."""
    from kg.build import inferred_quads
    from kg.inference import infer, link_path
    from kg.iris import Iris

    iris = Iris(base_iri)
    edges = [(e.source, e.target) for e in catalog.edges()]
    result = infer(catalog.concepts, edges, built.ids, built.vectors, expert=expert)
    about = []
    if path is not None:
        subjects = [
            (iris.phase(path.title, ph.number), f"{ph.title}. {ph.description or ''}") for ph in path.phases
        ] + [(iris.question(path.title, n), q.text) for n, q in enumerate(path.questions, start=1)]
        about = link_path(subjects, built.embed([t for _, t in subjects]), built.ids, built.vectors)
    modules = {title: node for node, title in catalog.modules.items()}
    summary = {
        "edges": len(result.edges),
        "values": {p: sum(1 for v in result.values if v.prop == p) for p in ("layer", "minutes", "module", "level")},
        "relations": {k: sum(1 for r in result.relations if r.kind == k) for k in ("broader", "related", "same-topic")},
        "mentions": len(result.mentions),
        "expert_targets": len(expert or {}),
        "path_links": len(about),
        "skipped_cycles": result.skipped_cycles,
        "skipped_hub": result.skipped_hub,
        "skipped_layer": result.skipped_layer,
        "weights": result.weights,
    }
    return _Inferred(inferred_quads(result, iris, modules, about), summary)


def _expert(catalog: Catalog, matcher: SlugMatcher | None = None) -> dict[str, set[str]] | None:
    """The dev split of the plan gold set as ``{concept: accepted prerequisites}`` (never the test split).

    ``matcher``: the resolver's slug matcher, which a build has (see :meth:`Catalog.resolve_gold`)."""
    from retrieval.plan_eval import DEFAULT_PLANS, load_plans

    if not DEFAULT_PLANS.exists():
        return None

    def resolve(ref: str) -> str | None:
        return catalog.resolve_gold(ref, matcher)

    out: dict[str, set[str]] = {}
    for g in load_plans():
        target = resolve(g.target)
        if g.split == "dev" and target is not None:
            out[target] = {cid for group in g.groups for ref in group if (cid := resolve(ref)) and cid != target}
    return out


class Workspace:
    """An existing build, opened lazily piece by piece."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._planning: dict[float, PrereqGraph] = {}
        if not settings.dataset_path.exists():
            raise BuildMissingError(f"no build in {settings.home}; run `ckg ingest` first (or set CKG_HOME)")

    @cached_property
    def manifest(self) -> dict[str, Any]:
        path = self.settings.build_manifest_path
        try:
            doc = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise BuildDamagedError(f"{path} cannot be read ({exc.__class__.__name__}); {REBUILD_HINT}") from None
        if not isinstance(doc, dict):
            raise BuildDamagedError(f"{path} is not a build manifest; {REBUILD_HINT}")
        return doc

    def verified(self, relative: str) -> Path:
        """``relative`` (a file of this build) after checking its size and hash against build.json."""
        path = self.settings.home / relative
        expected = (self.manifest.get("files") or {}).get(relative)
        if expected is None:  # builds before #16 recorded no file hashes
            return path
        check_file(path, expected, relative)
        return path

    @cached_property
    def base_iri(self) -> str:
        return self.manifest.get("base_iri", self.settings.base_iri)

    @cached_property
    def store(self) -> GraphStore | RemoteStore:
        """The build's embedded store, or the SPARQL server in ``settings.store`` holding this same build."""
        if self.settings.store:
            from kg.remote import RemoteStore

            return RemoteStore(self.settings.store, expected_sha256=self.manifest.get("dataset_sha256"))
        persistent = self._persistent_store()
        if persistent is not None:
            return GraphStore(path=persistent, dataset_sha256=self.manifest.get("dataset_sha256"))
        return GraphStore.load(self.verified("dataset.nq"))  # a build from before the persistent store

    def _persistent_store(self) -> Path | None:
        """The build's ``store/`` once its record says it holds this build's dataset and its files have
        the recorded sizes; ``None`` for builds written before it existed. Anything else is damage."""
        if STORE_RECORD not in (self.manifest.get("files") or {}):
            return None
        record_path = self.verified(STORE_RECORD)
        try:
            record = json.loads(record_path.read_text("utf-8"))
        except ValueError as exc:
            raise BuildDamagedError(f"{STORE_RECORD} cannot be read ({exc}); {REBUILD_HINT}") from None
        if record.get("dataset_sha256") != self.manifest.get("dataset_sha256"):
            raise BuildDamagedError(f"{STORE_DIR}/ holds another dataset than this build's; {REBUILD_HINT}")
        directory = self.settings.home / STORE_DIR
        for name, size in (record.get("files") or {}).items():
            check_size(directory / name, size, f"{STORE_DIR}/{name}", record=STORE_RECORD)
        return directory

    @cached_property
    def catalog(self) -> Catalog:
        """From the build's catalog snapshot when it is the one this build wrote, else from the graph."""
        path = self.settings.home / "catalog.json"
        files = self.manifest.get("files") or {}
        if CATALOG_INDEX in files and path.is_file() and path.stat().st_size == files["catalog.json"]["bytes"]:
            # Builds since stop 23 open lazily: the index is hashed whole, catalog.json is mapped and each
            # concept document checked against its own digest when first read (hashing all 110 MB of it
            # at 100k concepts took 0.18 s of a graph-only command's 1 s).
            index = self.verified(CATALOG_INDEX).read_bytes()
            with path.open("rb") as fh:
                data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            return Catalog.from_snapshot(data, self.base_iri, index)
        if path.exists():
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() == self.manifest.get("catalog_sha256"):
                return Catalog.from_snapshot(data, self.base_iri)
        if self.settings.store:  # the catalog is read from the local snapshot only; the store is for SPARQL
            raise BuildDamagedError(f"{path} is missing or not this build's; {REBUILD_HINT}")
        return Catalog(self.store, self.base_iri)  # the embedded store: no store URL is set

    @cached_property
    def graph(self) -> PrereqGraph:
        """Asserted edges only: what the sources say (lint, SPARQL parity)."""
        from kg.graph import PrereqGraph

        return PrereqGraph.over(self.catalog.edge_table(), None)

    def planning_graph(self, min_confidence: float) -> PrereqGraph:
        """Asserted edges plus inferred ones at or above ``min_confidence`` (what gap and path plan over)."""
        from kg.graph import PrereqGraph

        cached = self._planning.get(min_confidence)
        if cached is None:
            cached = self._planning[min_confidence] = PrereqGraph.over(self.catalog.edge_table(), min_confidence)
        return cached

    @cached_property
    def report(self) -> IngestReport:
        return IngestReport.model_validate_json(self.verified("report.json").read_text("utf-8"))
