"""Bad input: clear messages with file:line, the rest still ingested, old builds untouched."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ckg.config import Settings
from ckg.errors import SourceError, StrictModeError
from cli.app import EXIT_REJECTED, app
from ingest.pipeline import run
from ingest.reader import read_source
from ingest.theory import parse_theory_library
from kg.workspace import build

runner = CliRunner()


def test_missing_file(source_copy):
    (source_copy / "working-notes.txt").unlink()
    with pytest.raises(SourceError, match=r"working-notes\.txt: file not found"):
        read_source(source_copy / "working-notes.txt")
    ingest = run(source_copy)
    assert any("working-notes.txt: file not found" in e for e in ingest.report.errors)
    assert len([r for r in ingest.records if r.source == "theory-library"]) == 296


def test_empty_file(source_copy):
    (source_copy / "research-path.txt").write_text("\n\n")
    ingest = run(source_copy)
    assert any("research-path.txt: file is empty" in e for e in ingest.report.errors)


def test_stray_non_utf8_byte(source_copy):
    path = source_copy / "theory-library.txt"
    data = path.read_bytes().replace(b"Common Inequalities", b"Common Inequal\xffities", 1)
    path.write_bytes(data)
    result = parse_theory_library(path)
    assert len(result.records) == 296
    bad = [w for w in result.warnings if "0xff" in w.message]
    assert len(bad) == 1
    assert str(bad[0].locator) == "theory-library.txt:17"  # grep -n "Common Inequalities"
    assert "column 15" in bad[0].message
    assert result.records[0].title == "Common Inequal\ufffdities"


def test_truncated_file_keeps_what_is_there(source_copy):
    path = source_copy / "theory-library.txt"
    lines = path.read_text("utf-8").splitlines()
    # Cut right after a topic header: the last block has no title.
    cut = next(i for i in range(len(lines) - 1, 0, -1) if lines[i].startswith("L5Tier"))
    path.write_text("\n".join(lines[: cut + 1]) + "\n", "utf-8")
    result = parse_theory_library(path)
    assert len(result.records) == 295
    assert len(result.rejections) == 1
    rej = result.rejections[0]
    assert str(rej.locator) == f"theory-library.txt:{cut + 1}"
    assert "no title after it" in rej.reason
    assert result.records_read == 296


def test_header_without_title_mid_file(source_copy):
    path = source_copy / "theory-library.txt"
    text = path.read_text("utf-8")
    # Remove the title, description and prerequisites of "Common Probability Distributions".
    text = text.replace(
        "Common Probability Distributions\n\nThe essential probability distributions for ML: Bernoulli through "
        "Dirichlet, with PMFs/PDFs, moments, relationships, and when each arises in practice.\n\n"
        "sets functions and relations\n",
        "",
    )
    path.write_text(text, "utf-8")
    result = parse_theory_library(path)
    assert len(result.records) == 295
    # The orphaned header "L0ATier 1~65m" is line 21 (grep -n); the next header follows it.
    assert [str(r.locator) for r in result.rejections] == ["theory-library.txt:21"]
    titles = [r.title for r in result.records]
    assert "Compactness and Heine-Borel" in titles


def test_rejections_build_and_exit_status(source_copy, tmp_path):
    path = source_copy / "theory-library.txt"
    lines = path.read_text("utf-8").splitlines()
    cut = next(i for i in range(len(lines) - 1, 0, -1) if lines[i].startswith("L5Tier"))
    path.write_text("\n".join(lines[: cut + 1]) + "\n", "utf-8")
    home = tmp_path / "build"
    result = runner.invoke(app, ["ingest", "--sources", str(source_copy), "--home", str(home), "--no-index"])
    assert result.exit_code == EXIT_REJECTED, result.output
    assert f"rejected theory-library.txt:{cut + 1}" in result.output
    assert "read 296 = placed 295 + rejected 1 (ok)" in result.output
    assert (home / "dataset.nq").exists()


def test_strict_fails_and_keeps_previous_build(source_copy, tmp_path):
    home = tmp_path / "build"
    settings = Settings(home=home, sources=source_copy)
    build(settings)
    before = (home / "dataset.nq").read_bytes()
    # The real data has warnings (431 announced vs 296 present; locked groups).
    with pytest.raises(StrictModeError, match="build not written"):
        build(settings, strict=True)
    (source_copy / "topic-wiki.txt").unlink()
    with pytest.raises(Exception, match=r"topic-wiki\.txt: file not found"):
        build(settings)
    assert (home / "dataset.nq").read_bytes() == before
    assert not [p for p in home.parent.iterdir() if ".staging." in p.name]


def test_cli_maps_errors_to_exit_1(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "concepts", "--home", str(tmp_path / "none")], capture_output=True, text=True
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: no build in") and done.stderr.count("\n") == 1
