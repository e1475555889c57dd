"""Segmenting glued prerequisite lines into slugs.

A prerequisite line is the concatenation of URL slugs with no separator:
``vc dimensionconcentration inequalities``. Slug boundaries therefore never
fall on a space; they fall *inside* a whitespace token. A dynamic programme
over the candidate cut points picks the segmentation whose segments are
cheapest: a slug that resolves exactly costs 1, one that resolves only by a
fuzzy rule costs 3 (1.5 for a plural-folded match), an unknown slug 10, plus 15
for every token inside it that looks glued (not a known word, but two known
words end to end) and 12 for every other token that is not a known word
(``ackpropagationthe``): a cut in the wrong place leaves such fragments.

Cut points are limited to where the glued token splits into known words on
both sides (``dimension|concentration``), since slugs are made of whole words;
a token that cannot be split into known words at all (a slug with an unknown
or misspelt word) keeps every position. Trying every position made the work
grow with the square of the line's length in characters (~800 candidate
slugs for a four-slug line); word boundaries leave a handful.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from ingest.text import stem

EXACT, LOOSE, FUZZY, UNKNOWN, GLUED, STRANGE = 1.0, 1.5, 3.0, 10.0, 15.0, 12.0


@dataclass(frozen=True)
class Segment:
    slug: str
    #: ``exact``, ``fuzzy`` or ``unknown`` as judged by the matcher.
    quality: str


CACHE = 200_000
#: Longest word the cut finder looks for, in characters.
MAX_WORD = 40


class Segmenter:
    """Splits glued slug lines given a matcher and a word vocabulary.

    ``matcher(slug)`` returns ``"exact"``, ``"loose"``, ``"fuzzy"`` or ``None``.
    """

    def __init__(self, matcher: Callable[[str], str | None], vocabulary: frozenset[str]) -> None:
        self._matcher = lru_cache(maxsize=CACHE)(matcher)
        self._vocabulary = vocabulary
        # Tokens and slugs recur across lines and cut positions: cache per string, bounded
        # (every line contributes ~L^2/2 substrings; unbounded caches grew to GBs at 10k topics).
        self._known = lru_cache(maxsize=CACHE)(self._known)  # type: ignore[method-assign]
        self._looks_glued = lru_cache(maxsize=CACHE)(self._looks_glued)  # type: ignore[method-assign]
        self._cost = lru_cache(maxsize=CACHE)(self._cost)  # type: ignore[method-assign]
        self._cuts_in = lru_cache(maxsize=CACHE)(self._cuts_in)  # type: ignore[method-assign]

    def _known(self, token: str) -> bool:
        return token in self._vocabulary or stem(token) in self._vocabulary

    def _looks_glued(self, token: str) -> bool:
        if self._known(token) or len(token) < 4:
            return False
        return any(self._known(token[:i]) and self._known(token[i:]) for i in range(2, len(token) - 1))

    def _cuts_in(self, token: str) -> tuple[int, ...]:
        """Offsets inside ``token`` where a slug boundary may fall."""
        m = len(token)
        reach = [True] + [False] * m  # reach[j]: token[:j] splits into known words
        for j in range(1, m + 1):
            reach[j] = any(reach[i] and self._known(token[i:j]) for i in range(max(0, j - MAX_WORD), j))
        if not reach[m]:
            return tuple(range(1, m))
        back = [False] * m + [True]  # back[i]: token[i:] splits into known words
        for i in range(m - 1, -1, -1):
            back[i] = any(back[j] and self._known(token[i:j]) for j in range(i + 1, min(m, i + MAX_WORD) + 1))
        return tuple(k for k in range(1, m) if reach[k] and back[k])

    def _cost(self, slug: str) -> tuple[float, str]:
        quality = self._matcher(slug)
        if quality == "exact":
            return EXACT, "exact"
        if quality == "loose":
            return LOOSE, "exact"
        if quality == "fuzzy":
            return FUZZY, "fuzzy"
        tokens = slug.split()
        glued = sum(self._looks_glued(t) for t in tokens)
        strange = sum(not self._known(t) for t in tokens) - glued
        return UNKNOWN + GLUED * glued + STRANGE * strange, "unknown"

    def segment(self, line: str) -> list[Segment]:
        text = " ".join(line.split())
        if not text:
            return []
        cuts = [0]
        start = 0
        for token in text.split(" "):
            cuts += [start + k for k in self._cuts_in(token)]
            start += len(token) + 1
        cuts.append(len(text))
        best: list[tuple[float, int]] = [(0.0, -1)] + [(float("inf"), -1)] * (len(cuts) - 1)
        for b in range(1, len(cuts)):
            for a in range(b):
                if best[a][0] == float("inf"):
                    continue
                cost, _ = self._cost(text[cuts[a] : cuts[b]])
                total = best[a][0] + cost
                if total < best[b][0] - 1e-9:
                    best[b] = (total, a)
        out: list[Segment] = []
        b = len(cuts) - 1
        while b > 0:
            a = best[b][1]
            slug = text[cuts[a] : cuts[b]]
            out.append(Segment(slug, self._cost(slug)[1]))
            b = a
        return out[::-1]
