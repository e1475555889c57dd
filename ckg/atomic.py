"""Atomic writes: a build either completes or leaves the previous one intact."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ckg.errors import CkgError

#: Written into every build; a directory holding it (or an older build's ``build.json`` with a
#: ``ckg_version``) is a ckg build, and only such a directory may be replaced.
MARKER = ".ckg-build"


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """Yield an empty staging directory that replaces ``target`` only on success.

    The previous ``target`` is moved aside and deleted after the swap, so a
    crash at any point leaves either the old or the new directory in place.
    Files in ``target`` that the caller wants to keep must be copied in.
    """
    check_replaceable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.staging."))
    os.chmod(staging, 0o755)
    try:
        yield staging
        (staging / MARKER).write_text("a ckg build: `ckg ingest` replaces this directory whole\n", "utf-8")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old.{os.getpid()}"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def is_build(path: Path) -> bool:
    """Is ``path`` a directory a ckg build wrote (its marker, or a build manifest naming ckg)?"""
    if (path / MARKER).is_file():
        return True
    try:
        return "ckg_version" in json.loads((path / "build.json").read_text("utf-8"))
    except (OSError, ValueError, TypeError):
        return False


def check_replaceable(target: Path) -> None:
    """Refuse to replace anything but an absent or empty directory or a ckg build: never delete a user's files."""
    if not target.exists() and not target.is_symlink():
        return
    if not target.is_dir():
        raise CkgError(f"--home {target} is a file, not a build directory; choose a directory (it will be created)")
    if any(target.iterdir()) and not is_build(target):
        raise CkgError(
            f"--home {target} is not empty and is not a ckg build (no {MARKER} or build.json from ckg); "
            "refusing to replace it. Choose an empty or new directory"
        )


@contextlib.contextmanager
def home_lock(target: Path) -> Iterator[None]:
    """One build of ``target`` at a time (an exclusive lock beside it), and clean up after killed builds.

    Staging and set-aside directories of ``target`` left by a build that was killed are removed once the
    lock is held, since no other build of ``target`` can be using them then.
    """
    import fcntl

    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.parent / f".{target.name}.lock"
    with open(lock_path, "a+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CkgError(f"another ckg ingest is writing {target}; wait for it to finish and try again") from None
        try:
            for stale in target.parent.glob(f".{target.name}.staging.*"):
                shutil.rmtree(stale, ignore_errors=True)
            for stale in target.parent.glob(f".{target.name}.old.*"):
                shutil.rmtree(stale, ignore_errors=True)
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
