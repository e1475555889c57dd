"""Checks a SPARQL query must pass before any engine sees it: size, nesting, updates, SERVICE.

A few thousand nested ``{`` or ``(`` overflow the engine's recursive parser and
kill the whole process (pyoxigraph segfaults at ~5,000 levels), and SERVICE makes
the server connect wherever a query says. Both are refused here, on a scan that
skips strings, IRIs and comments, so ``"{{{"`` in a literal or ``<http://x/SERVICE>``
is harmless and ``?service`` is a variable.
"""

from __future__ import annotations

import re

from ckg.errors import QueryError, QueryForbiddenError

#: Deepest nesting of ``{``, ``(`` and ``[`` a query may have; real queries stay below ~10.
MAX_DEPTH = 64
#: Longest query text accepted (a GET query is limited further by the HTTP layer).
MAX_CHARS = 100_000

_UPDATE = frozenset({"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"})
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_OPEN, _CLOSE = "{([", "})]"


def check(sparql: str, *, allow_service: bool = False) -> None:
    """Raise :class:`QueryError` (too big, too deep) or :class:`QueryForbiddenError` (update, SERVICE)."""
    if len(sparql) > MAX_CHARS:
        raise QueryError(f"query is {len(sparql):,} characters; at most {MAX_CHARS:,} are accepted")
    depth = deepest = 0
    first_keyword: str | None = None
    line = 1
    i, n = 0, len(sparql)
    while i < n:
        ch = sparql[i]
        if ch == "\n":
            line += 1
        if ch == "#":  # comment to end of line
            j = sparql.find("\n", i)
            i = n if j < 0 else j
            continue
        if ch in "\"'":
            i = _skip_string(sparql, i)
            continue
        if ch == "<":
            j = _iri_end(sparql, i)
            if j is not None:
                i = j
                continue
        if ch in _OPEN:
            depth += 1
            if depth > MAX_DEPTH:
                raise QueryError(
                    f"query nests brackets deeper than {MAX_DEPTH} levels (line {line}); "
                    "flatten it: no real query needs that depth"
                )
            deepest = max(deepest, depth)
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif (m := _WORD.match(sparql, i)) is not None:
            word = m.group(0)
            prev = sparql[i - 1] if i else " "
            after = sparql[m.end()] if m.end() < n else " "
            # A keyword, not a variable (?service), a prefixed name (ex:service) or part of one.
            if prev not in "?$:" and after != ":":
                upper = word.upper()
                if first_keyword is None and upper not in ("PREFIX", "BASE"):
                    first_keyword = upper
                if upper == "SERVICE" and not allow_service:
                    raise QueryForbiddenError(
                        f"SERVICE (federated query, line {line}) is refused: ckg answers from its own graph only"
                    )
            i = m.end()
            continue
        i += 1
    if first_keyword in _UPDATE:
        raise QueryForbiddenError(
            "updates are not allowed: the graph is read-only (use SELECT, ASK, CONSTRUCT or DESCRIBE)"
        )


def _skip_string(text: str, i: int) -> int:
    quote = text[i]
    if text.startswith(quote * 3, i):
        end = text.find(quote * 3, i + 3)
        while end > 0 and _escaped(text, end):
            end = text.find(quote * 3, end + 1)
        return len(text) if end < 0 else end + 3
    j = i + 1
    while j < len(text) and text[j] != quote and text[j] != "\n":
        j += 2 if text[j] == "\\" else 1
    return j + 1


def _escaped(text: str, i: int) -> bool:
    k, slashes = i - 1, 0
    while k >= 0 and text[k] == "\\":
        slashes, k = slashes + 1, k - 1
    return slashes % 2 == 1


def _iri_end(text: str, i: int) -> int | None:
    """End of an IRI reference starting at ``i`` (``<…>`` without spaces), or None for a ``<`` operator."""
    j = i + 1
    while j < len(text):
        c = text[j]
        if c == ">":
            return j + 1
        if c in ' \t\r\n<"{}|^`':
            return None
        j += 1
    return None


#: A dataset clause: ``FROM <iri>`` or ``FROM NAMED <iri>`` (prefixed names too).
_FROM = re.compile(r"(?<![?$\w])FROM\s+(NAMED\s+)?(<|[\w.-]*:)", re.IGNORECASE)
_STRING = re.compile(r'"""(?:.|\n)*?"""|\'\'\'(?:.|\n)*?\'\'\'|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|#[^\n]*')


def _without_strings(sparql: str) -> str:
    """The query with its string literals and comments blanked, so a FROM inside them is not a clause."""
    return _STRING.sub(" ", sparql)


def names_dataset(sparql: str) -> bool:
    """Whether the query names its own dataset (``FROM`` / ``FROM NAMED``): then that dataset is used,
    not the union of every graph that ckg makes the default otherwise (SPARQL 1.1 Protocol, 2.1.4)."""
    return _FROM.search(_without_strings(sparql)) is not None
