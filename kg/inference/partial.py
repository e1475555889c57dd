"""Partial names: a description that uses a concept's distinctive label words without its whole name.

A decoder block is wrapped "with residual connections and normalization" (Layer Normalization, share
0.53); Xavier initialisation's description speaks of deep networks (Deep Neural Network, 0.68). No
mention is found there - the whole label is never written - yet the words that make the label
distinctive are. :func:`partial_names` scores each such pair by the share of the label's words the text
holds, each word weighted by how rare it is among labels (IDF), so a word few labels use counts for much
and "learning" for little; the edge model learns what a share is worth, as it does for every other
feature. Repetition Penalty's "decoding heuristic" stays below the bar for Decoding Strategies:
"decoding" is in seven labels, "strategies" in one.

Only words that few labels use (at most :data:`OPENING_SHARE` of them) open a candidate: "learning" or
"model" alone would make every concept a candidate of every other. Every text is read once: ~2 s of
the inference at 100k synthetic concepts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping

from ingest.concepts import Concept
from ingest.text import content_key, stem, words

#: A pair is a candidate when the text holds at least this IDF-weighted share of the label's words.
MIN_SHARE = 0.5
#: A label word opens candidates only if at most this share of labels use it (the others still count).
OPENING_SHARE = 0.02


def _label_words(c: Concept) -> list[str]:
    """The label's content words, stemmed as merging compares labels (:func:`ingest.labels.keys`); sorted,
    so that IDF sums add up in one order whatever the process's hash seed."""
    return sorted({stem(w) for w in content_key(words(c.label))})


def partial_names(concepts: Mapping[str, Concept]) -> dict[str, dict[str, float]]:
    """``{concept: {named concept: share}}`` for every described pair at :data:`MIN_SHARE` or more.

    A concept's own words are those of its label and of every description (all sources)."""
    live = sorted(cid for cid, c in concepts.items() if not c.stub)
    labels = {cid: _label_words(concepts[cid]) for cid in live}
    label_sets = {cid: frozenset(ws) for cid, ws in labels.items()}
    df: dict[str, int] = defaultdict(int)
    for ws in labels.values():
        for w in ws:
            df[w] += 1
    n = max(len(live), 1)
    idf = {w: math.log(n / d) for w, d in df.items()}
    opening: dict[str, list[str]] = defaultdict(list)
    for cid, ws in labels.items():
        for w in ws:
            if df[w] <= max(2.0, OPENING_SHARE * n):
                opening[w].append(cid)
    out: dict[str, dict[str, float]] = {}
    if not opening:  # every label word is common (a synthetic catalogue): nothing to find, no texts to read
        return out
    for cid in live:
        c = concepts[cid]
        own = {stem(w) for w in words(c.label)}
        for ref in c.sources:
            own.update(stem(w) for w in words(ref.description or ""))
        found: dict[str, float] = {}
        for t in sorted({t for w in own & opening.keys() for t in opening[w]} - {cid}):
            if label_sets[cid] <= label_sets[t]:
                continue  # "Data Leakage" -/-> "Target Leakage vs. Data Leakage": a label extending mine is narrower
            total = sum(idf[w] for w in labels[t])
            share = sum(idf[w] for w in labels[t] if w in own) / total if total else 0.0
            if share >= MIN_SHARE:
                found[t] = round(share, 3)
        if found:
            out[cid] = found
    return out
