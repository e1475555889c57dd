"""Entry point of the SPARQL query helper process (see :mod:`kg.sandbox`):
``python -m cli.query_helper DATASET SOCKET WORKERS [DATASET_SHA256]``."""

from __future__ import annotations

import sys


def _ready() -> None:
    sys.stdout.write("ready\n")
    sys.stdout.flush()


if __name__ == "__main__":
    from kg.sandbox import serve

    serve(sys.argv[1], sys.argv[2], _ready, int(sys.argv[3]), expect=sys.argv[4] if len(sys.argv) > 4 else None)
    sys.exit(0)
