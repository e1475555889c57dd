"""Small timing helpers: repeated runs, min/median/max, percentiles, peak memory."""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Figure:
    name: str
    unit: str
    values: list[float]
    command: str
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    def row(self) -> str:
        v = sorted(self.values)
        fmt = (lambda x: f"{x:.1f}") if self.unit == "ms" else (lambda x: f"{x:.2f}")
        cells = f"{fmt(v[0])} / {fmt(statistics.median(v))} / {fmt(v[-1])}"
        extra = " ".join(f"{k} {fmt(x)}" for k, x in self.extra.items())
        return f"| {self.name} | {cells} {self.unit} | {extra} | `{self.command}` | {self.note} |"


def repeat(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    s = sorted(samples_ms)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))]  # noqa: E731
    return {"p50": pick(0.5), "p95": pick(0.95), "p99": pick(0.99)}


def process(args: list[str], n: int = 5, env: dict | None = None) -> tuple[list[float], float]:
    """Wall times (s) of ``args`` as a new process, and its peak RSS in MiB (max over runs).

    Peak RSS is the child's ``VmHWM``: ``ru_maxrss`` would report the parent's
    size, because Linux keeps it across ``exec``.
    """
    times, peak = [], 0.0
    for _ in range(n):
        t = time.perf_counter()
        # ckg leaves through os._exit (no teardown), so the peak is reported from a wrapped os._exit.
        code = (
            "import os, runpy, sys; sys.argv = " + repr(args) + "\n"
            "_exit = os._exit\n"
            "def report(status):\n"
            "    hwm = [x for x in open('/proc/self/status') if x.startswith('VmHWM')][0].split()[1]\n"
            "    sys.stderr.write(f'@@peak {hwm}\\n'); sys.stderr.flush(); _exit(status)\n"
            "os._exit = report\n"
            "try:\n    runpy.run_module('cli.main', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "report(0)\n"
        )
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
        times.append(time.perf_counter() - t)
        for line in res.stderr.splitlines():
            if line.startswith("@@peak"):
                peak = max(peak, int(line.split()[1]) / 1024)
    return times, peak


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
