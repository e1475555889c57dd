"""Named SPARQL queries shipped with the package (``ckg sparql --list``).

Each ``.rq`` file starts with ``# name:``, ``# description:`` and ``# params:``
comment lines. A ``# bind: NAME`` line marks where a parameter is bound with a
``VALUES`` row. Parameters are concept references resolved through the catalog
like any CONCEPT argument, so only IRIs the graph itself minted are ever
written into a query, never user text.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from ckg.errors import QueryError


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    params: tuple[str, ...]
    text: str


def _load() -> dict[str, NamedQuery]:
    out: dict[str, NamedQuery] = {}
    for entry in sorted(files("kg.queries").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".rq"):
            continue
        text = entry.read_text("utf-8")
        meta = {}
        for line in text.splitlines():
            if line.startswith("# ") and ":" in line:
                k, _, v = line[2:].partition(":")
                meta[k.strip()] = v.strip()
        params = tuple(p.strip() for p in meta.get("params", "").split(",") if p.strip())
        out[meta["name"]] = NamedQuery(meta["name"], meta.get("description", ""), params, text)
    return out


NAMED = _load()


def render_named(query: NamedQuery, params: dict[str, str], ws: Any) -> tuple[str, None]:
    """Bind ``params`` for ``query``; concept parameters are resolved through the catalog."""
    missing = [p for p in query.params if p not in params]
    if missing:
        raise QueryError(f"named query {query.name!r} needs --param {missing[0]}=<concept>")
    unknown = sorted(set(params) - set(query.params))
    if unknown:
        raise QueryError(f"named query {query.name!r} takes no parameter {unknown[0]!r}")
    from retrieval.names import NameResolver

    names = NameResolver(ws.catalog)  # by name only: a parameter is an id or a label, maybe misspelt
    text = query.text
    for name, value in params.items():
        concept = ws.catalog.concepts[names.resolve(value, free_text=False).id]
        text = text.replace(f"# bind: {name}", f"VALUES ?{name} {{ <{ws.catalog.iri(concept.id)}> }}")
    return text, None
