"""Shared fixtures: the real sources, one ingest and one build per test session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "data" / "sources"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def sources() -> Path:
    return SOURCES


@pytest.fixture(scope="session")
def ingested():
    from ingest.pipeline import run

    return run(SOURCES)


@pytest.fixture(scope="session")
def settings(tmp_path_factory):
    from ckg.config import Settings

    root = tmp_path_factory.mktemp("ckg")
    return Settings(home=root / "build", sources=SOURCES)


@pytest.fixture(scope="session")
def workspace(settings):
    from kg.workspace import Workspace, build

    build(settings)
    return Workspace(settings)


@pytest.fixture(scope="session")
def catalog(workspace):
    return workspace.catalog


@pytest.fixture
def source_copy(tmp_path) -> Path:
    """A writable copy of the five sources for bad-input tests."""
    target = tmp_path / "sources"
    shutil.copytree(SOURCES, target)
    return target


@pytest.fixture(scope="session")
def indexed(tmp_path_factory):
    """A full build with the vector index, using the real model (loaded once per session)."""
    from ckg.config import Settings
    from kg.workspace import Workspace, build

    root = tmp_path_factory.mktemp("ckg-indexed")
    settings = Settings(home=root / "build", sources=SOURCES)
    outcome = build(settings, index=True)
    return Workspace(settings), outcome


@pytest.fixture(scope="session")
def search_service(indexed):
    from retrieval.service import SearchService

    return SearchService(indexed[0])


@pytest.fixture(scope="session")
def live_server(indexed):
    """A real uvicorn server on a free loopback port, serving the indexed build (model loaded once)."""
    from server.app import Services, create_app, running

    settings = indexed[0].settings
    with running(create_app(settings, Services(settings))) as url:
        yield url
