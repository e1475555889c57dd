"""The CLI as a user drives it: help everywhere, formats, concept JSON fields."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from cli.app import app

runner = CliRunner()
COMMANDS = sorted(c.name or c.callback.__name__ for c in app.registered_commands)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "--help" in result.output
    cmd = next(c for c in app.registered_commands if (c.name or c.callback.__name__) == command)
    assert (cmd.callback.__doc__ or "").strip(), f"{command} has no help text"


def test_plan_help_states_the_defaults_the_library_uses():
    """The CLI's help imports only typer, so it writes the plan defaults out: they must stay the library's."""
    import inspect
    import re

    from cli import app as cli_app
    from kg.graph import PLAN_SIZE, USE_THRESHOLD
    from server import mcp

    source = inspect.getsource(cli_app)
    assert source.count(f"(default {USE_THRESHOLD})") == 2
    for module, times in ((source, 2), (inspect.getsource(mcp), 2)):  # --full and path's help; the two tools
        assert len(re.findall(r"nearest\s+(\d+)\b", module)) == times
        assert set(re.findall(r"nearest\s+(\d+)\b", module)) == {str(PLAN_SIZE)}


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from cli.app import app; "
        "heavy = [m for m in ('torch', 'sentence_transformers', 'faiss', 'rdflib', 'pyoxigraph', 'pyshacl', "
        "'fastapi', 'uvicorn', 'mcp', 'networkx') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_usage_error_exit_2():
    result = runner.invoke(app, ["show"])
    assert result.exit_code == 2


REQUIRED = {
    "id",
    "iri",
    "label",
    "alt_labels",
    "definition",
    "layer",
    "tier",
    "minutes",
    "level",
    "modules",
    "sources",
    "stub",
}


def test_concepts_json(workspace):
    result = runner.invoke(app, ["concepts", "--home", str(workspace.settings.home), "-f", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 1191
    assert all(set(r) >= REQUIRED for r in rows)
    assert all(s["file"] and s["line"] for r in rows for s in r["sources"])


@pytest.mark.parametrize(
    ("args", "count"),
    [
        (["--layer", "0A"], 29),
        (["--source", "theory-library"], 296),
        (["--source", "concept-library.txt"], 66),
        (["--module", "Foundations"], 37 + 3),  # theory module + concept-library group of that name
        (["--no-stubs"], 1180),
    ],
)
def test_concepts_filters(workspace, args, count):
    result = runner.invoke(app, ["concepts", "--home", str(workspace.settings.home), "-f", "jsonl", *args])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == count


def test_show_by_label_acronym_and_iri(workspace):
    home = str(workspace.settings.home)
    for ref in (
        "svd",
        "Singular Value Decomposition (SVD)",
        "https://ckg.example.org/concept/singular-value-decomposition",
    ):
        result = runner.invoke(app, ["show", ref, "--home", home, "-f", "json"])
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        assert doc["id"] == "singular-value-decomposition"
        assert [s["file"] for s in doc["sources"]] == ["theory-library.txt", "topic-wiki.txt", "working-notes.txt"]
        assert [p["id"] for p in doc["prerequisites"]] == ["eigenvalues-and-eigenvectors"]


def test_show_table_lists_prerequisites_dependents_sources(workspace):
    result = runner.invoke(app, ["show", "Concentration Inequalities", "--home", str(workspace.settings.home)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "prerequisites (2)" in out and "Common Probability Distributions" in out
    assert "dependents (" in out and "Chernoff Bounds [chernoff-bounds]" in out
    assert "theory-library.txt:" in out


def test_sparql_formats(workspace):
    home = str(workspace.settings.home)
    q = "SELECT ?l WHERE { ?c skos:notation 'vc-dimension' ; skos:prefLabel ?l }"
    for fmt, expect in (
        ("json", '"value": "VC Dimension"'),
        ("csv", "l\nVC Dimension"),
        ("tsv", "l\nVC Dimension"),
        ("table", "VC Dimension"),
    ):
        result = runner.invoke(app, ["sparql", q, "--home", home, "-f", fmt])
        assert result.exit_code == 0, result.output
        assert expect in result.stdout


def test_sparql_from_file_and_syntax_error(workspace, tmp_path):
    home = str(workspace.settings.home)
    rq = tmp_path / "q.rq"
    rq.write_text("ASK { ?c ckg:stub true }")
    result = runner.invoke(app, ["sparql", f"@{rq}", "--home", home, "-f", "json"])
    assert json.loads(result.stdout)["boolean"] is True
    from ckg.errors import QueryError

    result = runner.invoke(app, ["sparql", "SELECT ?x WHERE { ?x ", "--home", home])
    assert isinstance(result.exception, QueryError)
    assert "1:" in str(result.exception)


def test_gap_path_next_cli(workspace):
    home = str(workspace.settings.home)
    result = runner.invoke(
        app, ["gap", "Cramér-Rao Bound", "--known", "Maximum Likelihood Estimation", "--home", home, "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert [i["id"] for i in plan["missing"]] == ["fisher-information"] and plan["total_minutes"] == 55
    result = runner.invoke(app, ["gap", "Cramér-Rao Bound", "--home", home])
    assert "6 concept(s) missing, 305 min in total" in result.stdout
    result = runner.invoke(app, ["path", "Fisher Information", "--home", home, "-f", "dot"])
    assert result.exit_code == 0 and result.stdout.startswith("digraph path {")
    result = runner.invoke(app, ["next", "--known", "basic logic and proof techniques", "--home", home, "-f", "jsonl"])
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["sets-functions-and-relations"]


def test_help_is_answered_from_the_cache_the_first_rendering_fills(tmp_path):
    """`ckg CMD --help` the second time comes from cli/__pycache__ without importing typer."""
    import cli.main as entry

    env = {**__import__("os").environ, "COLUMNS": "97"}
    first = subprocess.run(
        [sys.executable, "-m", "cli.main", "path", "--help"], capture_output=True, text=True, env=env
    )
    code = (
        "import sys, runpy; sys.argv = ['ckg', 'path', '--help']\n"
        "import os; real = os._exit\n"
        "def done(c): sys.stderr.write(str('typer' in sys.modules)); sys.stderr.flush(); real(c)\n"
        "os._exit = done\nrunpy.run_module('cli.main', run_name='__main__')\n"
    )
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert first.returncode == second.returncode == 0
    assert second.stdout == first.stdout and "Usage: ckg path" in first.stdout
    assert second.stderr == "False"  # answered without importing typer
    assert entry._help_key(["path", "--help"]) != entry._help_key(["gap", "--help"])
    assert entry._help_key(["path", "--help", "x"]) is None and entry._help_key(["path"]) is None


def test_version():
    from ckg import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output == f"ckg {__version__}\n"


def test_long_commands_report_progress_and_wall_time_on_stderr(workspace):
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "validate", "--home", str(workspace.settings.home)],
        capture_output=True,
        text=True,
    )
    lines = done.stderr.splitlines()
    assert lines[0] == "loading the build…" and "SHACL validation…" in lines
    assert any(line.startswith("SHACL validation: ") and line.endswith(" s") for line in lines)
    assert lines[-1].startswith("validate: done in ") and lines[-1].endswith(" s")


def test_a_failed_long_command_says_why_and_that_it_failed(tmp_path, sources):
    """A base IRI with a space: one error line naming it (no traceback), exit 1, "failed in", no build."""
    home, bad = str(tmp_path / "build"), "http://exa mple.org/"
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "ingest", "--home", home, "--sources", str(sources), "--base-iri", bad],
        capture_output=True,
        text=True,
    )
    lines = done.stderr.splitlines()
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "error: the base IRI 'http://exa mple.org/' is not an IRI" in done.stderr
    assert lines[-1].startswith("ingest: failed in ") and not (tmp_path / "build").exists()


def test_quiet_keeps_only_warnings():
    import logging

    from cli.app import _log_to_stderr

    log = logging.getLogger("ckg")
    try:
        _log_to_stderr(True)
        assert log.level == logging.WARNING and sum(getattr(h, "_ckg_cli", False) for h in log.handlers) == 1
        _log_to_stderr(False)
        assert log.level == logging.INFO and sum(getattr(h, "_ckg_cli", False) for h in log.handlers) == 1
    finally:
        for h in [h for h in log.handlers if getattr(h, "_ckg_cli", False)]:
            log.removeHandler(h)
        log.setLevel(logging.NOTSET)
