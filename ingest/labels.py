"""Label analysis: which spellings of a title name the same concept.

The rules here are the only ones used both to merge records into concepts and
to resolve prerequisite slugs, so every merge and every resolution can be
explained by naming the rule (see :data:`RULES`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ingest.text import content_key, fold, is_acronym, joined_words, split_paren, stem, words

Key = tuple[str, ...]

#: Rule name -> what it means, for the ingest report.
RULES: dict[str, str] = {
    "normalized": "same words after case, accent, dash, apostrophe and stopword folding",
    "hyphen-joined": "same words once hyphenated parts are joined (Sub-Gaussian = subgaussian)",
    "plural": "same words after singular/plural folding",
    "spaceless": "same letters once spaces are removed (Flash Attention = FlashAttention)",
    "paren-main": "title without its acronym/alias parenthetical, e.g. 'X (XYZ)' = 'X'",
    "acronym": "acronym given in parentheses or formed from a run of capitalised words (rkhs)",
    "alias": "alias given in parentheses, e.g. 'ZeRO (Zero Redundancy Optimizer)'",
    "question-form": "'What is X?' names X",
    "plural+acronym": "acronym match after singular/plural folding (neural odes)",
    "prefix": "slug is a unique leading part of a theory-library title (truncated slug)",
    "subsequence": "slug words appear in order in one theory-library title with at most two extra words",
    "generic-head": "same words once a trailing generic head noun is dropped "
    "(Transformer Architecture = Transformer, Metropolis-Hastings Algorithm = Metropolis-Hastings)",
    "derivation": "same words once -ation nouns are folded to their verb (Advantage Estimation = Advantage Estimate)",
}

#: Head nouns that name the kind of thing, not which thing: "X Architecture" is X.
#: Plural "mechanisms" is not one: "In-Context Learning Mechanisms" are how ICL works, not ICL.
GENERIC_HEADS = frozenset(
    {"architecture", "algorithm", "model", "method", "mechanism", "machine", "technique", "framework", "approach"}
    | {"algorithms", "models", "methods", "machines", "techniques"}
)


def derive(word: str) -> str:
    """``estimation`` -> ``estimate``: an -ation noun and its verb name one idea."""
    return word[:-3] + "e" if len(word) > 7 and word.endswith("ation") else word


_QUESTION = re.compile(r"^(what|why|how)\s+(is|are|does|do)\s+(a|an|the)?\s*", re.I)


def _acronym_of(acronym: str, phrase: str) -> bool:
    """Is ``acronym`` (LoRA) a letter subsequence of ``phrase`` (Low-Rank Adaptation) starting alike?"""
    letters = re.sub(r"[^a-z0-9]", "", fold(phrase))
    acr = re.sub(r"[^a-z0-9]", "", fold(acronym))
    if not acr or not letters or acr[0] != letters[0]:
        return False
    it = iter(letters)
    return all(ch in it for ch in acr)


@dataclass(frozen=True)
class LabelParts:
    """A title split into its main label and the alternative labels it carries."""

    main: str
    alt_labels: tuple[str, ...]
    #: True when the parenthetical names the same thing (acronym or alias), not a qualifier.
    paren_is_alias: bool


_DASH_ALIAS = re.compile(r"^(?P<acr>\S+)\s+[-–—]\s+(?P<expansion>.+)$")


def analyse(title: str) -> LabelParts:
    dash = _DASH_ALIAS.match(title)
    if dash and is_acronym(dash["acr"]) and _acronym_of(dash["acr"], dash["expansion"]):
        # "PPO - Proximal Policy Optimization": the expansion is the label.
        return LabelParts(dash["expansion"].strip(), (dash["acr"],), True)
    main, paren = split_paren(title)
    if paren is None:
        return LabelParts(title.strip(), (), False)
    if is_acronym(paren) and _acronym_of(paren, main):
        return LabelParts(main, (paren,), True)
    if is_acronym(main) and _acronym_of(main, paren):
        return LabelParts(main, (paren,), True)
    if len(main.split()) > 1 and fold(paren).split()[-1:] == fold(main).split()[-1:]:
        return LabelParts(main, (paren,), True)
    return LabelParts(title.strip(), (), False)


def keys(title: str) -> list[tuple[str, Key]]:
    """Every (rule, key) under which ``title`` names its concept; merging shares any key."""
    return list(_keys(title))


def forget_keys() -> None:
    """Drop :func:`keys`' cache once merging and the slug resolver have keyed every title (~40 MB at 100k
    concepts, which would otherwise stay through the rest of a build's peak)."""
    _keys.cache_clear()


@lru_cache(maxsize=1 << 18)
def _keys(title: str) -> tuple[tuple[str, Key], ...]:
    """:func:`keys`, cached: merging and the slug resolver both key every title (200,000 calls, 10 s of
    a profiled 100k-concept ingest, half of them repeats)."""
    out: list[tuple[str, Key]] = []

    def add(rule: str, text: str) -> None:
        w = words(text)
        if not w:
            return
        out.append((rule, content_key(w)))
        out.append(("hyphen-joined" if rule == "normalized" else rule, content_key(joined_words(text))))
        out.append(("plural" if rule == "normalized" else rule, tuple(stem(t) for t in content_key(w))))

    add("normalized", title)
    w = content_key(words(title))
    if len(w) > 1:
        # "Flash Attention" = "FlashAttention"
        out.append(("spaceless", ("".join(w),)))
    parts = analyse(title)
    for base in {w, content_key(words(parts.main))}:
        stems = tuple(stem(t) for t in base)
        if len(base) > 1 and base[-1] in GENERIC_HEADS:
            out.append(("generic-head", stems[:-1]))
        if any(derive(t) != t for t in stems):
            out.append(("derivation", tuple(derive(t) for t in stems)))
    if parts.paren_is_alias:
        add("paren-main", parts.main)
        for alt in parts.alt_labels:
            add("acronym" if is_acronym(alt) else "alias", alt)
    q = _QUESTION.match(title)
    if q and title.rstrip().endswith("?"):
        add("question-form", title[q.end() :].rstrip(" ?"))
    first: dict[Key, str] = {}
    for rule, key in out:
        first.setdefault(key, rule)
    return tuple((rule, key) for key, rule in first.items())


def acronym_keys(title: str) -> list[Key]:
    """Keys with a run of two or more capitalised words replaced by its initials.

    ``Kernels and Reproducing Kernel Hilbert Spaces`` -> ``(kernels, rkhs)``; used
    only to resolve slugs, never to merge titles.
    """
    tokens = [t for t in re.split(r"[\s:,/]+", title) if t]
    out: list[Key] = []
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and tokens[j][:1].isupper() and fold(tokens[j]) not in ("and", "of"):
            j += 1
        if j - i >= 2:
            runs.append((i, j))
        i = max(j, i + 1)
    for a, b in runs:
        for s in range(a, b):
            for e in range(s + 2, b + 1):
                acr = "".join(fold(t)[0] for t in tokens[s:e])
                new = [*tokens[:s], acr, *tokens[e:]]
                key = content_key(words(" ".join(new)))
                if len(key) >= 2 and len(acr) >= 3:
                    out.append(key)
    return out
