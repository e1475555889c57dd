"""Text normalisation shared by the parsers, the slug matcher and the resolver.

One place decides what "the same spelling" means, so that merges and slug
resolution can be explained with the same rules.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: Words that URL slugs and alternative spellings drop freely.
STOPWORDS = frozenset({"the", "a", "an", "and", "of", "for", "in", "to", "with", "on", "vs"})

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")
_APOSTROPHES = dict.fromkeys(map(ord, "'\u2018\u2019`"), None)
_PAREN_TAIL = re.compile(r"\s*\(([^()]*)\)\s*$")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_SLUG_CHARS = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lowercase, strip accents, unify dashes and drop apostrophes."""
    if text.isascii():  # the common case (slugs, most titles): nothing to decompose
        return text.translate(_APOSTROPHES).lower().replace("&", " and ")
    text = unicodedata.normalize("NFKD", text.translate(_DASHES).translate(_APOSTROPHES))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.lower().replace("&", " and ")


def words(text: str) -> list[str]:
    """Alphanumeric words of ``text`` after :func:`fold` (hyphens split words)."""
    return [w for w in _NON_ALNUM.split(fold(text)) if w]


def joined_words(text: str) -> list[str]:
    """Like :func:`words` but hyphenated parts are joined (``Sub-Gaussian`` -> ``subgaussian``)."""
    return [w for w in _NON_ALNUM.split(fold(text).replace("-", "")) if w]


def content_key(tokens: list[str]) -> tuple[str, ...]:
    """The tokens without stopwords: the key two spellings must share to be equal."""
    kept = tuple(t for t in tokens if t not in STOPWORDS)
    return kept or tuple(tokens)


_IRREGULAR = {"matrices": "matrix", "indices": "index", "vertices": "vertex", "hypotheses": "hypothesis"}


@lru_cache(maxsize=1 << 17)
def stem(word: str) -> str:
    """A deliberately tiny plural stemmer: enough for ``mechanisms``/``mechanism``.

    Cached: inference stems every word of every description and label (3.4M calls at 100k concepts,
    9 s of a profile) and the vocabulary is small."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith(("sses", "ches", "shes", "xes")):  # processes, approaches, boxes
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def split_paren(title: str) -> tuple[str, str | None]:
    """``"Singular Value Decomposition (SVD)"`` -> ``("Singular Value Decomposition", "SVD")``."""
    m = _PAREN_TAIL.search(title)
    if not m or m.start() == 0:
        return title.strip(), None
    return title[: m.start()].strip(), m.group(1).strip()


def is_acronym(token: str) -> bool:
    """True for tokens like ``SVD``, ``MoE``, ``GPT-3``, ``xLSTM``, ``A2A``."""
    if " " in token or not 2 <= len(token) <= 12:
        return False
    return sum(ch.isupper() for ch in token) >= 2


def initials(phrase_words: list[str]) -> str:
    return "".join(w[0] for w in phrase_words if w)


def slugify(text: str) -> str:
    """A readable, stable id: ``"Singular Value Decomposition"`` -> ``singular-value-decomposition``."""
    return _SLUG_CHARS.sub("-", fold(text).replace("'", "")).strip("-") or "concept"
