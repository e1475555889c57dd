"""Sizes and hashes of a build's files, written by the build and checked when a part is opened."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ckg.errors import BuildDamagedError

REBUILD_HINT = "the build is damaged or was edited: run `ckg ingest` to rebuild it"
#: Files a build writes that are not themselves checked (the manifest and the build marker).
UNCHECKED = frozenset({"build.json", ".ckg-build"})
#: Directories whose files build.json does not hash: the persistent store, which records its own
#: file sizes in ``store.json`` (hashed like any file) and checksums its blocks itself.
UNHASHED_DIRS = ("store/",)


def _update(h: Any, path: Path) -> None:
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    _update(h, path)
    return h.hexdigest()


def combined_sha256(directory: Path, names: tuple[str, ...], *, skip_missing: bool = False) -> str:
    """One sha256 over several files of ``directory``, each led by its name (a model's weights and config)."""
    h = hashlib.sha256()
    for name in names:
        path = directory / name
        if skip_missing and not path.exists():
            continue
        h.update(name.encode() + b"\0")
        _update(h, path)
    return h.hexdigest()


def file_digests(root: Path) -> dict[str, dict[str, Any]]:
    """``{relative path: {"bytes", "sha256"}}`` for every file below ``root``, sorted."""
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel not in UNCHECKED and not rel.startswith(UNHASHED_DIRS):
            out[rel] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
    return out


def check_size(path: Path, expected: int | None, name: str, record: str = "build.json") -> None:
    """Raise :class:`BuildDamagedError` naming ``name`` unless ``path`` exists with ``expected`` bytes
    (``record``: the file that says so)."""
    if not path.is_file():
        raise BuildDamagedError(f"{name} is missing from {path.parent}; {REBUILD_HINT}")
    size = path.stat().st_size
    if size != expected:
        raise BuildDamagedError(f"{name} has {size:,} bytes, {record} says {expected:,}; {REBUILD_HINT}")


def check_file(path: Path, expected: dict[str, Any], name: str) -> None:
    """Raise :class:`BuildDamagedError` naming ``name`` unless ``path`` has the expected size and hash."""
    check_size(path, expected.get("bytes"), name)
    if _sha256(path) != expected.get("sha256"):
        raise BuildDamagedError(f"{name} does not match its hash in build.json; {REBUILD_HINT}")
