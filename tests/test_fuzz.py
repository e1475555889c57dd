"""Schema-based fuzzing of the HTTP API with schemathesis, against the live loopback server.

Every generated request, valid or not, must get an answer that matches the
OpenAPI document: no 5xx, documented status codes, content types, headers and
response shapes, invalid input rejected. One check is left out on purpose:
``positive_data_acceptance`` expects every schema-valid request to succeed,
but no schema can say "a concept that exists" or "syntactically valid SPARQL",
so a 400/404 for those is the right answer, not a failure.

schemathesis' CLI is used rather than its pytest plugin, whose loader does not
work with the pytest this project pins; seeded, one worker (hypothesis'
lambda introspection is not thread-safe), 25 examples per operation.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_api_conforms_to_its_schema(live_server, tmp_path):
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    assert st, "schemathesis' `st` command is missing; `make test` installs it"
    proc = subprocess.run(
        [
            st,
            "run",
            f"{live_server}/openapi.json",
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
            "--max-examples",
            "25",
            "--seed",
            "1",
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "Tested: 15" in proc.stdout  # 13 routes + HEAD and OPTIONS /sparql
