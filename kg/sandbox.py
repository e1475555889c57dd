"""Users' SPARQL runs in processes forked from a single-threaded helper, never from the serving process.

Why not fork the server itself: it runs threads (uvicorn's pool, onnxruntime, BLAS, the MCP stdin
reader). ``fork`` copies only the calling thread, with every lock the others held at that instant; a
child that needs one waits forever, and a library's fork handler can stall the parent too. One such
hang stopped a CI run for 80 minutes. The helper (``python -m cli.query_helper DATASET SOCKET WORKERS``,
which calls :func:`serve`) loads its own copy of an N-Quads dataset (or, for a build's persistent
store, leaves each worker to open it read-only), starts no threads and forks a few workers
that share the store copy-on-write. A worker takes one query at a time under a memory and a CPU-time
limit set for that query, and is killed when the caller's time limit passes; an out-of-memory abort or
an engine crash ends only that worker, and the helper forks a replacement. Workers are reused (a fresh
fork per query cost 10-40 ms more per query, in page faults and teardown) and retire after
:data:`RETIRE_AFTER` queries or :data:`RETIRE_GROWTH` bytes of growth. The helper ends when its parent
does (it watches its stdin pipe), and its workers with it.

Wire format on the helper's Unix socket, one connection per query: the caller sends a 4-byte length
and a JSON request; the worker answers with its pid (4 bytes, so the caller can kill it), then ``ok`` +
result bytes or ``er`` + a JSON error, then closes the connection.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ckg import errors
from ckg.errors import CkgError, QueryBusyError, QueryError, QueryTimeoutError

#: How long the helper may take to load the dataset before the first query gives up on it.
START_TIMEOUT_S = 300.0
#: Users' queries evaluating at once per sandbox: more would only share the same cores more thinly (and
#: each may take QUERY_MEMORY). Per-client limits belong to the reverse proxy, which hides clients' addresses.
QUERY_SLOTS = max(2, 2 * (os.cpu_count() or 1))
#: Longest wait for a slot before the query is refused with 503 (it also counts against its time limit).
SLOT_WAIT_S = 5.0
_HEADER = struct.Struct("!I")


class Sandbox:
    """A helper process that evaluates user queries over one N-Quads dataset; started on first use."""

    def __init__(self, dataset: Path, *, slots: int | None = None, expect: str | None = None) -> None:
        self.dataset = dataset
        #: For a build's store directory: the dataset hash it must still hold when a worker opens it.
        self.expect = expect
        self.slots = slots or QUERY_SLOTS
        self._slots = threading.BoundedSemaphore(self.slots)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: str | None = None
        self._finalizer: weakref.finalize | None = None

    @property
    def pid(self) -> int | None:
        """The helper's pid, or None before the first query."""
        return self._proc.pid if self._proc is not None else None

    def run(self, request: dict[str, Any], timeout: float, *, memory: int) -> bytes:
        """Evaluate ``request`` in a fresh child; its answer bytes, or the error it raised, re-raised here."""
        deadline = time.monotonic() + timeout
        if not self._slots.acquire(timeout=min(SLOT_WAIT_S, _left(deadline, timeout))):
            raise QueryBusyError(
                f"all {self.slots} query slots stayed busy for {min(SLOT_WAIT_S, timeout):g} s; try again shortly"
            )
        try:
            return self._run(request, deadline, timeout, memory)
        finally:
            self._slots.release()

    def _run(self, request: dict[str, Any], deadline: float, timeout: float, memory: int) -> bytes:
        frame = json.dumps({**request, "memory": memory, "cpu_s": int(timeout) + 2}).encode("utf-8")
        sock = self._connect()
        pid = 0
        done = False
        try:
            sock.sendall(_HEADER.pack(len(frame)) + frame)
            pid = _HEADER.unpack(_recv_exact(sock, _HEADER.size, deadline, timeout))[0]
            chunks: list[bytes] = []
            while True:
                sock.settimeout(_left(deadline, timeout))
                try:
                    chunk = sock.recv(1 << 20)
                except TimeoutError:
                    raise _timeout(timeout) from None
                if not chunk:
                    done = True
                    break
                chunks.append(chunk)
        finally:
            sock.close()
            if pid and not done:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        return _answer(b"".join(chunks), memory)

    def start(self) -> None:
        """Start the helper now (a server does, so its first query does not wait for the dataset load)."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()

    def close(self) -> None:
        """Stop the helper (queries in flight end with it) and remove its socket."""
        with self._lock:
            if self._finalizer is not None:
                self._finalizer()
            self._proc = self._dir = self._finalizer = None

    # ---------------------------------------------------------------- helper lifecycle
    def _connect(self) -> socket.socket:
        for attempt in (1, 2):
            self.start()
            with self._lock:
                assert self._dir is not None
                path = os.path.join(self._dir, "q.sock")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(path)
                return sock
            except OSError:
                sock.close()
                if attempt == 2:
                    raise
                with self._lock:  # the helper died between the check and the connect: start a new one
                    if self._proc is not None:
                        self._proc.kill()
                        self._proc.wait()
        raise AssertionError("unreachable")

    def _start(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        tmp = tempfile.mkdtemp(prefix="ckg-sandbox-")
        log = open(os.path.join(tmp, "helper.log"), "wb")  # noqa: SIM115 - the helper owns it
        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cli.query_helper",
                str(self.dataset),
                os.path.join(tmp, "q.sock"),
                str(self.slots),
                *([self.expect] if self.expect else []),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            close_fds=True,
        )
        log.close()
        self._finalizer = weakref.finalize(self, _stop, proc, tmp)
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT_S)
        line = proc.stdout.readline() if ready else b""
        if line.strip() != b"ready":
            detail: list[str] = []
            with contextlib.suppress(OSError):
                detail = Path(tmp, "helper.log").read_text(errors="replace").strip().splitlines()[-1:]
            self._finalizer()
            self._finalizer = None
            raise QueryError(
                f"the query helper for {self.dataset} did not start: {' '.join(detail) or 'no message'}; "
                "run `ckg validate`, or `ckg ingest` to rebuild"
            )
        self._proc, self._dir = proc, tmp


def _stop(proc: subprocess.Popen[bytes], tmp: str) -> None:
    with contextlib.suppress(OSError):
        if proc.stdin is not None:
            proc.stdin.close()  # the helper exits on EOF
    try:
        proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    with contextlib.suppress(OSError):
        if proc.stdout is not None:
            proc.stdout.close()
    shutil.rmtree(tmp, ignore_errors=True)


def _left(deadline: float, timeout: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _timeout(timeout)
    return left


def _timeout(timeout: float) -> QueryTimeoutError:
    return QueryTimeoutError(f"query ran longer than {timeout:g} s and was stopped; add LIMIT or narrow it")


def _recv_exact(sock: socket.socket, n: int, deadline: float, timeout: float) -> bytes:
    buf = b""
    while len(buf) < n:
        sock.settimeout(_left(deadline, timeout))
        try:
            chunk = sock.recv(n - len(buf))
        except TimeoutError:
            raise _timeout(timeout) from None
        if not chunk:
            raise QueryError("the query helper closed the connection before answering; try again")
        buf += chunk
    return buf


def _answer(data: bytes, memory: int) -> bytes:
    """The child's answer bytes, or its error re-raised as the same ckg exception."""
    if data[:2] == b"ok":
        return data[2:]
    if data[:2] != b"er":
        raise QueryError(
            f"query stopped: it needed more than {memory // 1024**2:,} MiB or crashed the engine; narrow it"
        )
    err = json.loads(data[2:])
    cls = getattr(errors, err["type"], None)
    if isinstance(cls, type) and issubclass(cls, CkgError) and cls is not errors.SourceError:
        raise cls(err["message"])
    raise QueryError(err["message"])


# -------------------------------------------------------------------- the helper side
def _bound(memory: int, cpu_s: int) -> None:
    """For the next query: address space up to what the process has plus ``memory``; CPU time up to what
    it has used plus ``cpu_s`` (a backstop to the caller's kill)."""
    import resource

    with open("/proc/self/statm") as fh:
        size = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + memory if hard == resource.RLIM_INFINITY else min(size + memory, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = int(usage.ru_utime + usage.ru_stime) + 1 + cpu_s
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu if hard == resource.RLIM_INFINITY else min(cpu, hard), hard))


def _serve_one(conn: socket.socket, evaluate: Callable[[dict[str, Any]], bytes]) -> None:
    """In a worker: announce the pid, read the request, bound the process, answer, close."""
    try:
        conn.sendall(_HEADER.pack(os.getpid()))
        size = _HEADER.unpack(_read(conn, _HEADER.size))[0]
        request = json.loads(_read(conn, size))
        try:
            _bound(int(request["memory"]), int(request["cpu_s"]))
            payload = b"ok" + evaluate(request)
        except BaseException as exc:  # everything goes back to the caller, by name
            from kg.store import as_ckg_error

            err = as_ckg_error(exc)
            payload = b"er" + json.dumps({"type": type(err).__name__, "message": str(err)}).encode("utf-8")
        conn.sendall(payload)
    except (OSError, EOFError):
        pass  # the caller went away (gave up, or was killed): nothing to answer
    finally:
        conn.close()


def _read(conn: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError("caller went away")
        buf += chunk
    return buf


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def serve(
    dataset: str, path: str, announce: Callable[[], None], workers: int = 2, *, expect: str | None = None
) -> None:
    """The helper: load the dataset, listen on ``path``, keep ``workers`` worker processes forked from it,
    ``announce()`` readiness; return when stdin closes (the parent is gone; the workers see the same end).

    Workers take connections themselves and serve one query each in turn. One killed at a time limit,
    crashed by the engine or retired (see :data:`RETIRE_AFTER`, :data:`RETIRE_GROWTH`) is replaced.
    ``expect``: the dataset hash a build's store directory must still hold when a replacement opens it
    (a rebuild swaps the directory; the caller answers from the build it opened, so must this).
    """
    import pyoxigraph as ox

    from kg.store import evaluate_request, open_store

    store: ox.Store | None = None
    if not os.path.isdir(dataset):  # an N-Quads file: parsed once here, shared with the workers copy-on-write
        store = ox.Store()
        store.bulk_load(path=dataset, format=ox.RdfFormat.N_QUADS)
    # else a build's store/: each worker opens it read-only itself, after the fork (RocksDB starts
    # threads, and a fork copies only the calling one; the helper must stay single-threaded)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(128)
    listener.setblocking(False)  # workers race for each connection; the losers go back to waiting
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the select below; children are reaped there
    alive: set[int] = set()

    def fork_worker() -> None:
        pid = os.fork()
        if pid:
            alive.add(pid)
            return
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.close(wake_r)
            os.close(wake_w)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)  # the engine's own abort message; the caller words it better
            # Opened before any query's memory bound: RocksDB reserves address space (thread stacks,
            # arenas) that a bound of "what the process has + the query's share" must already count.
            own, failed = store, None
            if own is None:
                try:
                    own = open_store(Path(dataset), expect_sha256=expect)
                except CkgError as exc:  # a damaged store is each query's error, named, not a crash loop
                    failed = exc

            def evaluate(request: dict[str, Any]) -> bytes:
                if failed is not None:
                    raise failed
                return evaluate_request(own, request)

            _work(listener, evaluate)
        finally:
            os._exit(0)

    for _ in range(workers):
        fork_worker()
    announce()
    while True:
        ready, _, _ = select.select([wake_r, sys.stdin], [], [])
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 1 << 10):
            return
        if wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_r, 1 << 10)
            while alive:
                pid, _status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
                alive.discard(pid)
            while len(alive) < workers:
                fork_worker()


#: A worker retires after this many queries, or when it has grown this much since its first query
#: (memory an engine keeps is not the next query's to use): its replacement starts fresh from the helper.
RETIRE_AFTER = 200
RETIRE_GROWTH = 256 * 1024**2


def _work(listener: socket.socket, evaluate: Callable[[dict[str, Any]], bytes]) -> None:
    """A worker's life: take a connection, serve it, until retirement or the helper's end (stdin closes)."""
    base = _rss()
    for _ in range(RETIRE_AFTER):
        ready, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 1 << 10):
            return
        if listener not in ready:
            continue
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            continue  # another worker took it
        conn.setblocking(True)
        _serve_one(conn, evaluate)
        if _rss() - base > RETIRE_GROWTH:
            return
