"""The console entry point, kept apart from the commands so that ``--help`` can skip importing them.

``ckg --help`` and ``ckg CMD --help`` are answered from a cache of the text typer
rendered the last time, keyed by a digest of the CLI's source and typer's
version and the terminal width: importing typer and building sixteen commands
costs ~130 ms, reading the cache ~1 ms (issue #13 asks for help within 0.1 s of
bare Python). The cache lives in ``cli/__pycache__``; if it cannot be written
(a read-only install) help is simply rendered every time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from pathlib import Path

#: Commands that take long enough to end with their wall time on stderr.
TIMED = {"ingest", "validate", "eval"}
_HERE = Path(__file__).resolve().parent
_HELP_SOURCES = ("app.py", "output.py", "main.py")


def main() -> None:
    """Library errors become one line on stderr and exit status 1; usage errors exit 2."""
    args = sys.argv[1:]
    cached = _help_key(args)
    if cached is not None and (text := _read_help(cached)) is not None:
        sys.stdout.write(text)
        _exit(0)
    from ckg.errors import CkgError
    from cli.output import message

    start = time.perf_counter()
    command = next((a for a in args if not a.startswith("-")), None)
    code = 0
    try:
        if cached is not None:
            code = _render_help(cached)
        else:
            from cli.app import app

            app(prog_name="ckg")
    except SystemExit as exc:
        if isinstance(exc.code, str):
            message(exc.code)
        code = _status(exc)
    except CkgError as exc:
        message(f"error: {exc}")
        code = 1
    if command in TIMED and cached is None:
        outcome = "done" if code == 0 else "failed"
        message(f"{command}: {outcome} in {time.perf_counter() - start:.1f} s")
    _exit(code)


def _help_key(args: list[str]) -> str | None:
    """A cache key for a pure help request (``--help`` or ``CMD --help``), else None."""
    if not (args == ["--help"] or (len(args) == 2 and args[1] == "--help" and not args[0].startswith("-"))):
        return None
    if os.environ.get("CKG_NO_HELP_CACHE"):
        return None
    h = hashlib.sha256()
    try:
        for name in _HELP_SOURCES:
            h.update((_HERE / name).read_bytes())
        from importlib.util import find_spec

        spec = find_spec("typer")  # its files, not importlib.metadata (which reads every installed package)
        origin = os.stat(spec.origin) if spec and spec.origin else None
        h.update(f"{origin.st_mtime_ns if origin else 0}:{origin.st_size if origin else 0}".encode())
    except Exception:
        return None
    width = os.environ.get("COLUMNS") or str(_terminal_width())
    h.update(f"\0{width}\0{os.environ.get('TYPER_USE_RICH', '')}\0{' '.join(args)}".encode())
    return h.hexdigest()[:24]


def _terminal_width() -> int:
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        return 0


def _cache_file() -> Path:
    return _HERE / "__pycache__" / "help-cache.json"


def _read_help(key: str) -> str | None:
    try:
        return json.loads(_cache_file().read_text("utf-8")).get(key)
    except (OSError, ValueError, AttributeError):
        return None


def _render_help(key: str) -> int:
    """Render help through typer, print it, and remember it under ``key``."""
    import contextlib
    import io

    from cli.app import app

    buf = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(buf):
        try:
            app(prog_name="ckg")
        except SystemExit as exc:
            code = _status(exc)
    text = buf.getvalue()
    sys.stdout.write(text)
    if code == 0 and text:
        _store_help(key, text)
    return code


def _store_help(key: str, text: str) -> None:
    from ckg.atomic import write_text

    path = _cache_file()
    try:
        entries = json.loads(path.read_text("utf-8")) if path.exists() else {}
        if not isinstance(entries, dict) or len(entries) > 200:
            entries = {}
        entries[key] = text
        path.parent.mkdir(exist_ok=True)
        write_text(path, json.dumps(entries))
    except (OSError, ValueError):
        pass  # a read-only install: help is rendered each time


def _status(exc: SystemExit) -> int:
    """The exit status a SystemExit stands for (None is 0, a message is 1)."""
    return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)


def _exit(code: int) -> None:
    """Exit without the interpreter's teardown.

    Freeing the model session, the catalog and a few hundred modules takes 150-200 ms that
    a one-shot command does not need (a fifth of a cold ``ckg search``). Everything ckg
    writes is complete and flushed by now, and ckg registers no exit handlers.
    """
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # a closed pipe (ckg ... | head) is fine
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
