"""Builds that never destroy (issue #16): --home checks, one build at a time, stale staging cleaned,
stated prerequisite cycles reported and broken, plans that never crash on a cycle."""

from __future__ import annotations

import fcntl
import json

import networkx as nx
import pytest
from typer.testing import CliRunner

from ckg.atomic import MARKER, home_lock, is_build
from ckg.config import Settings
from ckg.errors import CkgError
from cli.app import app
from ingest.pipeline import run
from kg.workspace import build

runner = CliRunner()


def test_home_with_a_users_files_is_refused_and_left_alone(tmp_path, sources):
    home = tmp_path / "thesis"
    (home / "sub").mkdir(parents=True)
    (home / "thesis.txt").write_text("three years of work")
    (home / "sub" / "data.csv").write_text("a,b\n1,2\n")
    result = runner.invoke(app, ["ingest", "--home", str(home), "--sources", str(sources), "--no-index"])
    assert isinstance(result.exception, CkgError)  # `ckg` maps it to exit 1 with this message on stderr
    assert "is not empty and is not a ckg build" in str(result.exception)
    assert (home / "thesis.txt").read_text() == "three years of work"
    assert (home / "sub" / "data.csv").read_text() == "a,b\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]  # nothing moved aside either


def test_home_that_is_a_file_is_refused(tmp_path, sources):
    home = tmp_path / "notes.txt"
    home.write_text("keep me")
    result = runner.invoke(app, ["ingest", "--home", str(home), "--sources", str(sources), "--no-index"])
    assert isinstance(result.exception, CkgError) and "is a file" in str(result.exception)
    assert home.read_text() == "keep me"


def test_a_build_is_marked_and_replaceable(tmp_path, sources):
    settings = Settings(home=tmp_path / "build", sources=sources)
    build(settings)
    assert (settings.home / MARKER).is_file() and is_build(settings.home)
    first = (settings.home / "dataset.nq").read_bytes()
    build(settings)  # a build replaces a build
    assert (settings.home / "dataset.nq").read_bytes() == first
    empty = tmp_path / "empty"
    empty.mkdir()
    build(Settings(home=empty, sources=sources))  # and an empty directory is fine
    assert is_build(empty)


def test_one_build_per_home_at_a_time(tmp_path, sources):
    settings = Settings(home=tmp_path / "build", sources=sources)
    lock = tmp_path / ".build.lock"
    with open(lock, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # another ingest holds the home
        with pytest.raises(CkgError, match="another ckg ingest is writing"):
            build(settings)
    assert not settings.home.exists()


def test_stale_staging_directories_are_cleaned(tmp_path):
    home = tmp_path / "build"
    stale = [tmp_path / ".build.staging.abc123", tmp_path / ".build.old.4242"]
    for d in stale:
        (d / "index").mkdir(parents=True)
    keep = tmp_path / ".other.staging.x"
    keep.mkdir()
    with home_lock(home):
        pass
    assert not any(d.exists() for d in stale) and keep.exists()


# ------------------------------------------------------------------ cycles
def _with_cycle(source_copy):
    """Common Probability Distributions (L0A) is made to require Maximum Likelihood Estimation (L0B), which
    requires it: line 27 becomes a glued pair of slugs, as the sources write them."""
    path = source_copy / "theory-library.txt"
    lines = path.read_text("utf-8").split("\n")
    assert lines[26] == "sets functions and relations"
    lines[26] = "sets functions and relationsmaximum likelihood estimation"
    path.write_text("\n".join(lines), "utf-8")


def test_a_stated_cycle_is_reported_with_its_concepts_and_broken(source_copy):
    _with_cycle(source_copy)
    ingest = run(source_copy)
    [brk] = ingest.resolution.cycles
    assert brk.cycle == ["common-probability-distributions", "maximum-likelihood-estimation"]
    # The edge against the layer order goes (L0A requiring L0B), not the long-standing one.
    assert brk.dropped == ("common-probability-distributions", "maximum-likelihood-estimation")
    assert (brk.file, brk.line) == ("theory-library.txt", 27)
    notices = [w for s in ingest.report.sources for w in s.warnings if "prerequisite cycle" in w.message]
    assert len(notices) == 1 and str(notices[0].locator) == "theory-library.txt:27"
    g = nx.DiGraph((c.id, p.target) for c in ingest.concepts for p in c.prerequisites)
    assert nx.is_directed_acyclic_graph(g)
    assert g.has_edge("maximum-likelihood-estimation", "common-probability-distributions")


def test_many_tangled_cycles_are_each_broken_once_and_deterministically():
    """A generated tangle (1,000 concepts, random edges, dozens of overlapping cycles): the result is
    acyclic, the dropped edges are exactly those reported, each on the cycle reported with it. Seeded;
    the same twice."""
    import random

    from ingest.concepts import Concept, Prerequisite
    from ingest.resolve import break_cycles

    def tangle() -> list[Concept]:
        rng = random.Random(17)
        ids = [f"c{i:04d}" for i in range(1000)]
        out = []
        for n, cid in enumerate(ids):
            targets = sorted({rng.choice(ids) for _ in range(rng.randint(0, 3))} - {cid})
            prereqs = [Prerequisite(target=t, slug=t, method="exact", file="t.txt", line=n) for t in targets]
            out.append(Concept(id=cid, label=cid, prerequisites=prereqs))
        return out

    concepts = tangle()
    before = nx.DiGraph((c.id, p.target) for c in concepts for p in c.prerequisites)
    breaks = break_cycles(concepts)
    after = nx.DiGraph((c.id, p.target) for c in concepts for p in c.prerequisites)
    assert len(breaks) > 40 and nx.is_directed_acyclic_graph(after)
    assert set(before.edges) - set(after.edges) == {b.dropped for b in breaks}
    for b in breaks:
        assert b.dropped in set(zip(b.cycle, b.cycle[1:] + b.cycle[:1], strict=True))
        assert b.cycle[0] == min(b.cycle)
    again = tangle()
    assert [(b.cycle, b.dropped) for b in break_cycles(again)] == [(b.cycle, b.dropped) for b in breaks]
    assert {(c.id, p.target) for c in again for p in c.prerequisites} == set(after.edges)


def test_plans_on_a_hand_edited_cyclic_build_are_an_error_not_a_crash(tmp_path, sources):
    from kg.workspace import Workspace
    from retrieval.gap import GapFinder

    settings = Settings(home=tmp_path / "build", sources=sources)
    build(settings)
    ws = Workspace(settings)
    from kg.graph import PrereqGraph

    edges = [(e.source, e.target) for e in ws.catalog.edges()]
    cyclic = [*edges, ("sets-functions-and-relations", "maximum-likelihood-estimation")]  # closes a cycle
    ws.__dict__["graph"] = PrereqGraph(cyclic, ws.catalog.concepts)  # the build's graph, edited by hand
    with pytest.raises(CkgError, match="prerequisite cycle in this build"):
        GapFinder(ws, asserted_only=True).path("Fisher Information")  # requires MLE: the cycle is in its plan
    assert json.loads((settings.home / "build.json").read_text())["ckg_version"]
