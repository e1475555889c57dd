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
    assert {"dataset.nq", "catalog.json", "report.json", "concepts.parquet", "edges.parquet"} <= set(files)
    assert "build.json" not in files and ".ckg-build" not in files
    assert all(len(f["sha256"]) == 64 and f["bytes"] > 0 for f in files.values())


def test_truncated_build_json_is_one_clear_error(workspace, copy_of):
    ws = copy_of(workspace)
    path = ws.settings.build_manifest_path
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(BuildDamagedError, match=r"build\.json cannot be read .*run `ckg ingest`"):
        _ = ws.catalog


def test_an_edited_dataset_is_refused_not_served(workspace, copy_of):
    ws = copy_of(workspace)
    path = ws.settings.dataset_path
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"Common Inequalities"', b'"Common Inequalitiez"', 1))
    with pytest.raises(BuildDamagedError, match=r"dataset\.nq does not match its hash"):
        _ = ws.store


def test_a_truncated_dataset_names_the_file(workspace, copy_of):
    ws = copy_of(workspace)
    path = ws.settings.dataset_path
    path.write_bytes(path.read_bytes()[:-500])
    with pytest.raises(BuildDamagedError, match=r"dataset\.nq has [\d,]+ bytes, build\.json says"):
        _ = ws.store


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
    ws.settings.dataset_path.write_bytes(b"")
    result = CliRunner().invoke(app, ["sparql", "ASK { ?s ?p ?o }", "--home", str(ws.settings.home)])
    assert isinstance(result.exception, CkgError) and "dataset.nq" in str(result.exception)
