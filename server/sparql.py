"""The SPARQL 1.1 Protocol's content negotiation: which serialisation answers which Accept header."""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from ckg.errors import NotAcceptableError

#: Media types per result kind, preferred first; the first is the default for ``*/*`` or no Accept header.
RESULTS: dict[str, list[tuple[str, ox.QueryResultsFormat]]] = {
    "select": [
        ("application/sparql-results+json", ox.QueryResultsFormat.JSON),
        ("application/json", ox.QueryResultsFormat.JSON),
        ("application/sparql-results+xml", ox.QueryResultsFormat.XML),
        ("application/xml", ox.QueryResultsFormat.XML),
        ("text/xml", ox.QueryResultsFormat.XML),
        ("text/csv", ox.QueryResultsFormat.CSV),
        ("text/tab-separated-values", ox.QueryResultsFormat.TSV),
    ],
    "ask": [
        ("application/sparql-results+json", ox.QueryResultsFormat.JSON),
        ("application/json", ox.QueryResultsFormat.JSON),
        ("application/sparql-results+xml", ox.QueryResultsFormat.XML),
        ("application/xml", ox.QueryResultsFormat.XML),
        ("text/xml", ox.QueryResultsFormat.XML),
    ],
    "graph": [
        ("text/turtle", ox.RdfFormat.TURTLE),
        ("application/x-turtle", ox.RdfFormat.TURTLE),
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
        ("text/plain", ox.RdfFormat.N_TRIPLES),
        ("application/ld+json", ox.RdfFormat.JSON_LD),
        ("application/json", ox.RdfFormat.JSON_LD),
        ("application/rdf+xml", ox.RdfFormat.RDF_XML),
        ("application/xml", ox.RdfFormat.RDF_XML),
    ],
}
CHARSET = {"text/csv", "text/tab-separated-values", "text/turtle", "text/plain"}


@dataclass
class Accept:
    media: str
    q: float
    order: int


def parse_accept(header: str | None) -> list[Accept]:
    if not header or not header.strip():
        return [Accept("*/*", 1.0, 0)]
    out = []
    for n, part in enumerate(header.split(",")):
        bits = [b.strip() for b in part.split(";")]
        media = bits[0].lower()
        if not media:
            continue
        q = 1.0
        for b in bits[1:]:
            if b.lower().startswith("q="):
                try:
                    q = max(0.0, min(1.0, float(b[2:])))
                except ValueError:
                    q = 0.0
        out.append(Accept(media, q, n))
    return out


def _matches(pattern: str, media: str) -> bool:
    if pattern == "*/*":
        return True
    if pattern.endswith("/*"):
        return media.startswith(pattern[:-1])
    return pattern == media


def negotiate(kind: str, accept: str | None) -> tuple[str, object]:
    """(media type, pyoxigraph format) for a result of ``kind``; :class:`NotAcceptableError` when none fits."""
    offers = RESULTS[kind]
    best: tuple[float, int, int] | None = None
    choice = None
    for a in parse_accept(accept):
        if a.q <= 0:
            continue
        for pos, (media, fmt) in enumerate(offers):
            if _matches(a.media, media):
                # Higher q wins; then an exact type over a wildcard; then our preference.
                key = (a.q, 0 if "*" in a.media else 1, -pos)
                if best is None or key > best:
                    best, choice = key, (media, fmt)
                break
    if choice is None:
        raise NotAcceptableError(
            f"none of the accepted types ({accept}) can carry a {kind} result; "
            f"use one of: {', '.join(m for m, _ in offers)}"
        )
    media, fmt = choice
    return (f"{media}; charset=utf-8" if media in CHARSET else media), fmt
