"""Cold starts (new processes) and the warm query floor, ONNX encoder against the torch path (issue #13).

Every figure is taken in the same run as its reference, so the ratios hold on
whatever machine runs ``make bench``: bare Python for ``--help``, the torch
encoder (``CKG_ENCODER=torch``) for the query commands.

    python -m bench.cold_start            # prints the section for a fresh build
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.timing import Figure, process

QUERY = "why divide dot products by the square root of the dimension"
GAP = "I want to understand diffusion models"


def _bare_python(repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        out.append(time.perf_counter() - t)
    return out


def mcp_first_search(home: Path, encoder: str = "auto", repeats: int = 3) -> list[float]:
    """Seconds from starting ``ckg mcp`` to the answer of its first ``search_concepts`` call."""
    env = dict(os.environ, CKG_HOME=str(home), CKG_ENCODER=encoder, HF_HUB_OFFLINE="1")
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "search_concepts", "arguments": {"query": QUERY, "k": 5}},
        },
    ]
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "-q", "mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        assert proc.stdin and proc.stdout
        proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
        proc.stdin.flush()
        try:
            for line in proc.stdout:
                reply = json.loads(line)
                if reply.get("id") == 2:
                    if "error" in reply or reply["result"].get("isError"):
                        raise RuntimeError(f"mcp search failed: {line[:300]}")
                    out.append(time.perf_counter() - start)
                    break
        finally:
            proc.kill()
            proc.wait()
    return out


def warm_p50_ms(home: Path, encoder: str, repeats: int = 20) -> tuple[float, float]:
    """Warm hybrid-search and encode-only p50 (ms) in a fresh process with ``encoder``."""
    code = (
        "import json, sys, time\n"
        "from ckg.config import Settings\nfrom kg.workspace import Workspace\n"
        "from retrieval.service import SearchService\n"
        f"svc = SearchService(Workspace(Settings(home=__import__('pathlib').Path({str(home)!r}))), encoder={encoder!r})\n"
        "qs = ['GQA', 'why divide dot products by the square root of the dimension', 'diffusion models',"
        " 'Compare PPO and DPO for RLHF.', 'concentration inequalities for sums']\n"
        "svc.search('warm up', k=10)\n"
        "s, e = [], []\n"
        f"for _ in range({repeats}):\n"
        "    for q in qs:\n"
        "        t = time.perf_counter(); svc.search(q, k=10); s.append((time.perf_counter() - t) * 1000)\n"
        "        t = time.perf_counter(); svc.embedder.encode([q]); e.append((time.perf_counter() - t) * 1000)\n"
        "print(json.dumps([sorted(s)[len(s) // 2], sorted(e)[len(e) // 2]]))\n"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    search, encode = json.loads(done.stdout.strip().splitlines()[-1])
    return float(search), float(encode)


def figures(home: Path, repeats: int = 7) -> tuple[list[Figure], list[str]]:
    env = dict(os.environ, CKG_HOME=str(home), HF_HUB_OFFLINE="1")
    torch_env = dict(env, CKG_ENCODER="torch")
    bare = _bare_python(repeats)
    bare_median = statistics.median(bare)
    figs = [Figure("bare python (`python -c pass`)", "s", bare, "python -c pass")]
    ratios: list[str] = []
    process(["ckg", "search", "--help"], 1, env)  # fills the help cache, as any first `--help` does
    process(["ckg", "--help"], 1, env)
    for args in (["ckg", "--help"], ["ckg", "search", "--help"]):
        times, peak = process(args, repeats, env)
        over = statistics.median(times) - bare_median
        figs.append(
            Figure(f"cold {' '.join(args)}", "s", times, " ".join(args), extra={"over bare": over, "peak MiB": peak})
        )
        ratios.append(f"`{' '.join(args)}`: {over:+.3f} s over bare Python (target <= +0.1 s)")
    cases = [
        (["ckg", "-q", "search", QUERY], "ckg search", 1.0),
        (["ckg", "-q", "context", QUERY], "ckg context", 1.5),
        (["ckg", "-q", "gap", GAP], "ckg gap (free text)", None),
    ]
    for args, name, target in cases:
        times, peak = process(args, repeats, env)
        t_times, t_peak = process(args, max(3, repeats // 2), torch_env)
        figs.append(Figure(f"cold {name} (onnx)", "s", times, " ".join(args), extra={"peak MiB": peak}))
        figs.append(
            Figure(
                f"cold {name} (torch path)",
                "s",
                t_times,
                "CKG_ENCODER=torch " + " ".join(args),
                extra={"peak MiB": t_peak},
            )
        )
        ratio = statistics.median(times) / statistics.median(t_times)
        goal = f" (target <= {target} s)" if target else ""
        ratios.append(
            f"{name}: {statistics.median(times):.2f} s{goal}, {peak:.0f} MiB = {ratio:.2f}x the time and "
            f"{peak / t_peak:.2f}x the memory of the torch path"
        )
    mcp = mcp_first_search(home)
    mcp_torch = mcp_first_search(home, "torch", repeats=2)
    figs.append(Figure("ckg mcp: start to first search answer (onnx)", "s", mcp, "bench.cold_start.mcp_first_search"))
    figs.append(Figure("ckg mcp: start to first search answer (torch path)", "s", mcp_torch, "same, CKG_ENCODER=torch"))
    ratios.append(
        f"ckg mcp first search: {statistics.median(mcp):.2f} s (target <= 1.5 s) = "
        f"{statistics.median(mcp) / statistics.median(mcp_torch):.2f}x the torch path"
    )
    onnx_search, onnx_encode = warm_p50_ms(home, "onnx")
    torch_search, torch_encode = warm_p50_ms(home, "torch")
    ratios.append(
        f"warm hybrid search p50: {onnx_search:.1f} ms (target <= 5 ms; encoding {onnx_encode:.1f} ms of it) = "
        f"{onnx_search / torch_search:.2f}x the torch path ({torch_search:.1f} ms, encoding {torch_encode:.1f} ms)"
    )
    return figs, ratios


def section(home: Path, repeats: int = 7) -> str:
    from bench.run import table

    figs, ratios = figures(home, repeats)
    intro = (
        "New processes on the real build (`python -m bench.cold_start`). Each query command runs with the default "
        "ONNX encoder and, in the same run, with the torch path (`CKG_ENCODER=torch`); peak MiB is the child's VmHWM.\n\n"
        + "\n".join(f"- {r}" for r in ratios)
    )
    return table("Cold start and query floor (ONNX encoder vs torch path)", figs, intro)


def main() -> None:
    import tempfile

    from ckg.config import Settings
    from kg.workspace import build

    home = Path(os.environ["CKG_HOME"]) if os.environ.get("CKG_HOME") else None
    with tempfile.TemporaryDirectory() as tmp:
        if home is None:
            home = Path(tmp) / "build"
            build(Settings(home=home), index=True)
        print(section(home))


if __name__ == "__main__":
    main()
