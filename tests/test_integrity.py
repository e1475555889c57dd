"""Integrity on open (issue #16): every file of a build is checked against build.json before it is used."""

from __future__ import annotations

import json
import shutil

import pytest

from ckg.config import Settings
from ckg.errors import BuildDamagedError, CkgError
from kg.workspace import Workspace


@pytest.fixture
def copy_of(tmp_path):
    """A private copy of a build, to damage."""

    def make(workspace: Workspace) -> Workspace:
        home = tmp_path / "build"
        shutil.copytree(workspace.settings.home, home)
        return Workspace(Settings(home=home, sources=workspace.settings.sources))

    return make


def test_build_json_records_every_file(workspace):
    files = workspace.manifest["files"]
    built = {"dataset.nq", "catalog.json", "catalog.index", "report.json", "concepts.parquet", "edges.parquet"}
    assert built | {"store.json"} <= set(files)
    assert "build.json" not in files and ".ckg-build" not in files
    assert not [f for f in files if f.startswith("store/")]  # the store records its own files in store.json
    assert all(len(f["sha256"]) == 64 and f["bytes"] > 0 for f in files.values())


def test_the_persistent_store_holds_exactly_the_dataset(workspace, tmp_path):
    """Queries are answered from ``store/`` (opened read-only), which round-trips to dataset.nq line for line."""
    import pyoxigraph as ox

    store = workspace.store
    assert store.path == workspace.settings.home / "store"
    record = json.loads((workspace.settings.home / "store.json").read_text())
    assert record["dataset_sha256"] == workspace.manifest["dataset_sha256"]
    assert record["quads"] == workspace.manifest["quads"] == len(store)
    dump = tmp_path / "dump.nq"
    store.store.dump(str(dump), format=ox.RdfFormat.N_QUADS)
    assert sorted(dump.read_bytes().splitlines()) == sorted(workspace.settings.dataset_path.read_bytes().splitlines())
    with pytest.raises(RuntimeError, match="read-write"):  # read-only: nothing a reader does can change the build
        store.store.add(ox.Quad(ox.NamedNode("urn:a"), ox.NamedNode("urn:b"), ox.NamedNode("urn:c")))


def test_a_store_file_of_the_wrong_size_names_the_file(workspace, copy_of):
    ws = copy_of(workspace)
    sst = max((ws.settings.home / "store").glob("*.sst"), key=lambda p: p.stat().st_size)
    sst.write_bytes(sst.read_bytes()[:-100])
    with pytest.raises(BuildDamagedError, match=rf"store/{sst.name} has [\d,]+ bytes, store\.json says"):
        _ = ws.store


def test_a_store_damaged_in_place_is_one_clear_error(workspace, copy_of):
    """Same size, flipped bytes: RocksDB's block checksums catch it, reported as damage, not a traceback."""
    ws = copy_of(workspace)
    for sst in (ws.settings.home / "store").glob("*.sst"):
        data = bytearray(sst.read_bytes())
        for i in range(0, len(data), 512):
            data[i] ^= 0xFF
        sst.write_bytes(bytes(data))
    with pytest.raises(BuildDamagedError, match=r"store.*damaged.*run `ckg ingest`"):
        ws.store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")


def test_a_store_of_another_build_is_refused(workspace, copy_of):
    ws = copy_of(workspace)
    record_path = ws.settings.home / "store.json"
    record = json.loads(record_path.read_text())
    record["dataset_sha256"] = "0" * 64
    record_path.write_text(json.dumps(record, indent=2, sort_keys=True))  # same size, other content
    with pytest.raises(BuildDamagedError, match=r"store\.json does not match its hash"):
        _ = ws.store  # the record itself is hashed in build.json
    doc = json.loads(ws.settings.build_manifest_path.read_text())
    doc["files"]["store.json"] = {"bytes": record_path.stat().st_size, "sha256": _sha(record_path)}
    ws.settings.build_manifest_path.write_text(json.dumps(doc))
    fresh = Workspace(ws.settings)
    with pytest.raises(BuildDamagedError, match=r"store/ holds another dataset"):
        _ = fresh.store


def _sha(path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_truncated_build_json_is_one_clear_error(workspace, copy_of):
    ws = copy_of(workspace)
    path = ws.settings.build_manifest_path
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(BuildDamagedError, match=r"build\.json cannot be read .*run `ckg ingest`"):
        _ = ws.catalog


def test_an_edited_dataset_is_refused_not_exported(workspace, copy_of, tmp_path):
    from typer.testing import CliRunner

    from cli.app import app

    ws = copy_of(workspace)
    path = ws.settings.dataset_path
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"Common Inequalities"', b'"Common Inequalitiez"', 1))
    out = tmp_path / "out.ttl"
    result = CliRunner().invoke(app, ["export", "-f", "turtle", "-o", str(out), "--home", str(ws.settings.home)])
    assert isinstance(result.exception, BuildDamagedError) and "dataset.nq does not match its hash" in str(
        result.exception
    )
    assert not out.exists()


def test_a_truncated_dataset_names_the_file(workspace, copy_of):
    ws = copy_of(workspace)
    path = ws.settings.dataset_path
    path.write_bytes(path.read_bytes()[:-500])
    with pytest.raises(BuildDamagedError, match=r"dataset\.nq has [\d,]+ bytes, build\.json says"):
        ws.verified("dataset.nq")


def test_builds_without_a_persistent_store_parse_the_dataset(workspace, copy_of):
    """A build written before the store existed (no store.json in build.json) still answers SPARQL."""
    ws = copy_of(workspace)
    shutil.rmtree(ws.settings.home / "store")
    (ws.settings.home / "store.json").unlink()
    doc = json.loads(ws.settings.build_manifest_path.read_text())
    del doc["files"]["store.json"]
    ws.settings.build_manifest_path.write_text(json.dumps(doc))
    assert ws.store.path == ws.settings.dataset_path
    assert len(ws.store) == ws.manifest["quads"]


def test_a_missing_report_names_the_file(workspace, copy_of):
    ws = copy_of(workspace)
    (ws.settings.home / "report.json").unlink()
    with pytest.raises(BuildDamagedError, match=r"report\.json is missing"):
        _ = ws.report


@pytest.mark.slow
@pytest.mark.parametrize("name", ["index/vectors.npy", "index/ids.json", "index/manifest.json", "index/origins.json"])
def test_a_damaged_index_file_is_refused(indexed, copy_of, name):
    from retrieval.service import SearchService

    ws = copy_of(indexed[0])
    path = ws.settings.home / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped bit-pattern in the middle
    path.write_bytes(bytes(data))
    with pytest.raises(BuildDamagedError, match=name.replace(".", r"\.")):
        SearchService(ws).search("attention", mode="dense", k=1)


def test_old_builds_without_file_hashes_still_open(workspace, copy_of):
    ws = copy_of(workspace)
    doc = json.loads(ws.settings.build_manifest_path.read_text())
    doc.pop("files")
    ws.settings.build_manifest_path.write_text(json.dumps(doc))
    assert len(ws.store) > 0


def test_cli_reports_damage_without_a_traceback(workspace, copy_of):
    from typer.testing import CliRunner

    from cli.app import app

    ws = copy_of(workspace)
    (ws.settings.home / "store" / "CURRENT").write_bytes(b"")
    result = CliRunner().invoke(app, ["sparql", "ASK { ?s ?p ?o }", "--home", str(ws.settings.home)])
    assert isinstance(result.exception, CkgError) and "store/CURRENT has 0 bytes" in str(result.exception)


def test_a_store_rebuilt_under_a_running_process_is_not_answered_from(workspace):
    """A rebuild swaps store/ while a server runs; its sandbox workers, which open the directory when they
    start, must refuse to answer from another build than the server's own (it says to restart)."""
    from kg.store import GraphStore

    home = workspace.settings.home
    other = GraphStore(path=home / "store", dataset_sha256="0" * 64)  # as if the build on disk were newer
    try:
        with pytest.raises(BuildDamagedError, match=r"holds another build .* restart it"):
            other.query("ASK { ?s ?p ?o }", isolated=True)  # in a sandbox worker
        with pytest.raises(BuildDamagedError, match=r"holds another build .* restart it"):
            other.query("ASK { ?s ?p ?o }")  # in this process
    finally:
        other.close()
    same = GraphStore(path=home / "store", dataset_sha256=workspace.manifest["dataset_sha256"])
    try:
        assert same.query("ASK { ?s ?p ?o }", isolated=True).boolean
    finally:
        same.close()


def test_a_damaged_catalog_index_names_the_file(workspace, copy_of):
    ws = copy_of(workspace)
    path = ws.settings.home / "catalog.index"
    path.write_bytes(path.read_bytes().replace(b"bm25", b"bm26", 1))
    with pytest.raises(BuildDamagedError, match=r"catalog\.index does not match its hash"):
        _ = ws.catalog


def test_validate_vouches_for_every_file_even_what_commands_check_lazily(workspace, copy_of):
    """Commands check catalog.json document by document as they read it; ``validate`` hashes every file,
    so an edit inside a concept nobody has shown yet is still one error naming the file."""
    from kg.validate import validate

    ws = copy_of(workspace)
    path = ws.settings.home / "catalog.json"
    data = path.read_bytes()
    at = data.index(b'"label": "BM25"')
    path.write_bytes(data[:at] + b'"label": "BM26"' + data[at + len(b'"label": "BM25"') :])
    assert ws.catalog.concepts["random-forest"].label == "Random Forest"  # an untouched document still reads
    with pytest.raises(BuildDamagedError, match=r"catalog\.json does not match its hash in build\.json"):
        validate(ws)
