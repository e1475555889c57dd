"""Broader, related and same-topic links between concepts, each with its evidence.

* **broader** (``skos:broader``): the genus of a definitional sentence. In
  "A random forest is an ensemble of decision trees", the first concept named
  after the copula ("ensemble" = Ensemble Methods) is what a random forest is
  a kind of. Only the first sentence of a description is read, and only its
  first few words after the copula, where the genus stands.
* **related** (``skos:related``): two concepts whose descriptions name each
  other, with no genus link between them.
* **same topic** (``skos:closeMatch``): two concepts not merged at ingest whose
  labels agree once acronyms are expanded or one label holds the other, and
  whose descriptions are near in meaning ("RLHF and Alignment" /
  "Reinforcement Learning from Human Feedback"). A plan lists one of them only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ingest.concepts import Concept, SourceRef
from ingest.labels import GENERIC_HEADS, analyse
from ingest.text import content_key, is_acronym, stem, words
from kg.inference.mentions import Mention, MentionIndex
from kg.inference.neighbours import Neighbours

#: Words after the copula within which the genus must be named.
GENUS_WINDOW = 6
#: Same-topic pairs need descriptions at least this close (cosine) ...
SAME_TOPIC_SIMILARITY = 0.55
#: ... or this close when the labels share nothing but meaning.
SAME_TOPIC_SIMILARITY_ALONE = 0.92
#: ... or this close when one title is the other written again (:func:`_written_twice`).
SAME_TOPIC_SIMILARITY_TITLES = 0.75
#: Nearest concepts searched for same-topic partners (see :func:`same_topic_relations`).
SAME_TOPIC_NEIGHBOURS = 32

_COPULA = re.compile(r"\b(?:is|are|was|were)\s+(?:(?:a|an|the|one of the|a kind of|a type of|a family of)\s+)?", re.I)
_SENTENCE_END = re.compile(r"(?<=[a-z0-9)])[.;:](?:\s|$)")


_PHRASE_END = frozenset(
    {"a", "an", "the", "of", "that", "which", "whose", "where", "when", "who", "used", "to", "for", "in", "by", "with"}
    | {"from", "on", "at", "into", "across", "over", "under", "between", "through", "via", "and", "or", "but"}
)


@dataclass(frozen=True)
class Relation:
    """``source`` --kind--> ``target``; kind is ``broader``, ``related`` or ``same-topic``."""

    source: str
    target: str
    kind: str
    confidence: float
    evidence: str


def _first_sentence(text: str) -> str:
    m = _SENTENCE_END.search(text)
    return text[: m.start()] if m else text


#: A description that opens without its subject names the genus at once: "A curriculum-learning variant
#: where ...", "An offline alignment method", "An extension of ZeRO that ...", "A special case of ...".
_FRAGMENT = re.compile(
    r"(?:an?\s+)(?:(?:special\s+case|variant|extension|generali[sz]ation|form|kind|type|family)\s+of\s+(?:the\s+)?)?",
    re.I,
)


def _head(text: str) -> tuple[str, bool]:
    """The noun phrase ``text`` opens with: at most :data:`GENUS_WINDOW` words, up to the first article,
    relative pronoun or clause-opening preposition ("a token is the discrete unit | a language model ...");
    and whether it closed there or at the end of ``text`` (not cut at the word limit)."""
    head: list[str] = []
    tokens = text.split()
    for word in tokens[:GENUS_WINDOW]:
        if word.lower().strip(",;") in _PHRASE_END:
            return " ".join(head), True
        head.append(word)
    return " ".join(head), len(tokens) <= GENUS_WINDOW


def _restates(c: Concept, phrase: str) -> bool:
    """Does ``phrase`` open with a word of ``c``'s own labels ("A decision tree predicts ...": the subject
    written out, not a genus)?"""
    first = content_key(words(phrase))[:1]
    if not first:
        return True
    own = {stem(t) for label in (c.label, *c.alt_labels) for t in content_key(words(label))}
    return stem(first[0]) in own


def _fragment_genus(c: Concept, sentence: str, index: MentionIndex) -> tuple[str, str, str] | None:
    """``(target, phrase, words read)`` when ``sentence`` is a definition without its subject: it opens with
    "A"/"An", then not with the concept's own words, and its head phrase closes (at "that", "for", "of",
    ... or the end) before any verb could start a clause of its own ("A single global learning rate is
    suboptimal" has a subject and a verb, no genus). The first other concept that phrase names."""
    m = _FRAGMENT.match(sentence)
    if m is None or _restates(c, sentence[m.end() :]):
        return None
    window, closed = _head(sentence[m.end() :])
    if not closed or _COPULA.search(window):
        return None
    found = _named_in(window, c, index)
    return (*found, f"{sentence[: m.end()]}{window}") if found else None


def _named_in(window: str, c: Concept, index: MentionIndex) -> tuple[str, str] | None:
    """The first other concept ``window`` names, skipping a phrase that starts inside a hyphenated word and
    runs past it: in "an off-policy reinforcement learning algorithm" the genus is not "Policy
    (Reinforcement Learning)"; in "a distributed-attention algorithm" it is still "attention"."""
    for target, phrase in index.find(window):
        if target == c.id:
            continue
        first = re.escape(phrase.split()[0])
        inside = re.search(rf"\w-{first}", window, re.I) and not re.search(rf"(?<![\w-]){first}", window, re.I)
        if inside and " " in phrase:
            continue
        return target, phrase
    return None


def genus(c: Concept, index: MentionIndex) -> Relation | None:
    """The first concept named right after "is a/an/the" in the first sentence of one of ``c``'s descriptions,
    or heading a definition that leaves out its subject ("A curriculum-learning variant where ...")."""
    first = next(_genus_sentences(c, index), None)
    if first is None:
        return None
    ref, (target, phrase, said) = first
    return Relation(c.id, target, "broader", 0.8, f'{ref.file}:{ref.line} "{said}" ({phrase})')


def _genus_sentences(c: Concept, index: MentionIndex) -> Iterator[tuple[SourceRef, tuple[str, str, str]]]:
    """Each record's ``(target, phrase, words read)``: every "X is a Y" first, then, if none named a genus,
    every definition that leaves out its subject."""
    described = [(ref, _first_sentence(ref.description)) for ref in c.sources if ref.description]
    for ref, sentence in described:
        m = _COPULA.search(sentence)
        if m is None or m.start() > 120:
            continue
        window = _head(sentence[m.end() :])[0]  # the genus heads the noun phrase right after the copula
        if found := _named_in(window, c, index):
            yield ref, (*found, f"{sentence[: m.end()].strip()} {window}")
    for ref, sentence in described:
        if found := _fragment_genus(c, sentence, index):
            yield ref, found


def broader_relations(concepts: Mapping[str, Concept], index: MentionIndex) -> list[Relation]:
    out = [g for cid in sorted(concepts) if (g := genus(concepts[cid], index)) is not None]
    return out


def related_relations(mentions: list[Mention], broader: list[Relation]) -> list[Relation]:
    """Pairs whose descriptions name each other, minus genus pairs; one relation per pair (a < b)."""
    said = {(m.source, m.target): m for m in mentions}
    kinds = {(r.source, r.target) for r in broader} | {(r.target, r.source) for r in broader}
    out = []
    for (a, b), m in sorted(said.items()):
        back = said.get((b, a))
        if a < b and back is not None and (a, b) not in kinds:
            out.append(Relation(a, b, "related", 0.7, f"{m.evidence}; {back.evidence}"))
    return out


def _label_forms(c: Concept) -> set[tuple[str, ...]]:
    """Content-word keys of every label, with acronyms both as written and expanded."""
    forms: set[tuple[str, ...]] = set()
    expansions: dict[str, tuple[str, ...]] = {}
    for label in (c.label, *c.alt_labels):
        parts = analyse(label)
        for alt in parts.alt_labels:
            if is_acronym(alt):
                expansions[stem(alt.lower())] = tuple(stem(t) for t in content_key(words(parts.main)))
    for label in (c.label, *c.alt_labels):
        key = tuple(stem(t) for t in content_key(words(label)))
        forms.add(key)
        expanded: list[str] = []
        for t in key:
            expanded.extend(expansions.get(t, (t,)))
        forms.add(tuple(expanded))
    return {f for f in forms if f}


def described_neighbours(
    concepts: Mapping[str, Concept], ids: list[str], vectors: np.ndarray, k: int
) -> dict[str, list[tuple[str, float]]]:
    """The ``k`` nearest described (non-stub) concepts of each described concept: one k-NN search that the
    same-topic pairs here and the candidate evidence of scoring both read (at 100k concepts each search
    is ~40 s of approximate k-NN, so it is made once)."""
    row = {cid: i for i, cid in enumerate(ids)}
    live = [cid for cid in sorted(concepts) if not concepts[cid].stub and cid in row]
    vectors = np.asarray(vectors, dtype=np.float32)
    return Neighbours(ids, vectors, live).all_of(live, vectors[[row[c] for c in live]], k)


def same_topic_relations(
    concepts: Mapping[str, Concept],
    ids: list[str],
    vectors: np.ndarray,
    acronyms: Mapping[str, set[str]],
    near: Mapping[str, list[tuple[str, float]]] | None = None,
) -> list[Relation]:
    """Pairs not merged at ingest that name one topic: label containment (acronyms expanded) plus close meaning.
    ``near``: :func:`described_neighbours` with at least :data:`SAME_TOPIC_NEIGHBOURS` each, if made already."""
    row = {cid: i for i, cid in enumerate(ids)}
    live = [cid for cid in sorted(concepts) if not concepts[cid].stub and cid in row]
    forms = {cid: _label_forms(concepts[cid]) for cid in live}
    # Acronyms a concept is known by (RLHF), so "RLHF and Alignment" can be read as its expansion.
    expand: dict[str, tuple[str, ...]] = {}
    for acr, owners in acronyms.items():
        if len(owners) == 1:
            owner = next(iter(owners))
            expand[stem(acr.lower())] = tuple(stem(t) for t in content_key(words(concepts[owner].label)))
    for cid in live:
        for f in list(forms[cid]):
            grown: list[str] = []
            for t in f:
                grown.extend(expand.get(t, (t,)))
            forms[cid].add(tuple(grown))
    vectors = np.asarray(vectors, dtype=np.float32)
    mat = vectors[[row[c] for c in live]]
    # Pairs come from each concept's nearest neighbours, not an n x n similarity matrix (329 GiB at 300k
    # concepts); on the real data no concept has more than 17 others above the threshold.
    if near is None:
        near = Neighbours(ids, vectors, live).all_of(live, mat, SAME_TOPIC_NEIGHBOURS)
    near = {cid: found[:SAME_TOPIC_NEIGHBOURS] for cid, found in near.items()}
    at = {cid: i for i, cid in enumerate(live)}
    pairs = sorted(
        {(min(a, b), max(a, b)) for a in live for b, s in near[a] if s >= SAME_TOPIC_SIMILARITY - 1e-6 and b != a}
    )
    out = []
    for a, b in pairs:
        s = float(mat[at[a]] @ mat[at[b]])
        if s < SAME_TOPIC_SIMILARITY:
            continue
        contained = any(set(fa) < set(fb) or set(fb) < set(fa) or fa == fb for fa in forms[a] for fb in forms[b])
        shared = any(set(fa) & set(fb) for fa in forms[a] for fb in forms[b])
        if (
            (contained and len(min(forms[a] | forms[b], key=len)) >= 1 and _extra_is_minor(forms[a], forms[b]))
            or (s >= SAME_TOPIC_SIMILARITY_ALONE and shared)
            or (s >= SAME_TOPIC_SIMILARITY_TITLES and _written_twice(concepts[a], concepts[b]))
        ):
            out.append(
                Relation(
                    a,
                    b,
                    "same-topic",
                    round(s, 3),
                    f'"{concepts[a].label}" / "{concepts[b].label}": labels agree, descriptions cosine {s:.2f}',
                )
            )
    return out


#: Words that, added to a label, still name the same topic ("X and Alignment" is X in a wider frame,
#: "X: Deep Dive" is X in depth); any other extra word ("Theory", "Inference") makes a different topic.
_MINOR = frozenset({"dive", "primer", "basic", "introduction", "overview", "alignment", "practice"}) | {
    stem(w) for w in GENERIC_HEADS
}
#: Minor only beside "dive": alone, "deep" names a kind of its own (Deep Q-Learning builds on Q-Learning,
#: a deep neural network is a neural network with many layers), so the pair is two topics.
_MINOR_WITH_DIVE = frozenset({"deep"})


_PARENTHESES = re.compile(r"\s*\([^()]*\)\s*")
_JOINED = re.compile(r"\s+(?:and|&)\s+|\s*:\s+", re.I)


def _written_twice(a: Concept, b: Concept) -> bool:
    """Is one concept's title (or alt label) the other's written again? Words Snowball-stemmed as search
    stems them (:func:`retrieval.lexical.tokenize`), in three shapes only, since a containment of any
    words merges subtypes with their kind (Kernel PCA, Semi-Markov Decision Processes, Iterative DPO):

    * the same words in other forms, two or more of them ("Learning Rate Schedule" / "Learning Rate
      Scheduling"; one word alone is too little: "Token" / "Tokenization");
    * the extra words all in parentheses: examples or aliases ("Federated Learning (FedAvg)",
      "Mixed-Precision Training (FP16, BF16, FP8)"), not a field ("Sparse Autoencoder (Mechanistic
      Interpretability)" adds words outside them);
    * the other title followed by "and", "&" or ":" and more ("Model Compression and Pruning",
      "Differential Privacy & DP-SGD", "Multi-Armed Bandits: ε-Greedy, UCB, Thompson Sampling").
    """

    def same(short: str, long: str) -> bool:
        words_short = _title_words(short)
        whole, bare, head = _title_shapes(long)
        if not words_short or words_short == whole:
            return len(words_short) >= 2
        return words_short in (bare, head)

    labels_a, labels_b = (a.label, *a.alt_labels), (b.label, *b.alt_labels)
    return any(same(x, y) or same(y, x) for x in labels_a for y in labels_b)


@lru_cache(maxsize=1 << 16)
def _title_words(title: str) -> frozenset[str]:
    from retrieval.lexical import tokenize

    return frozenset(tokenize(title))


@lru_cache(maxsize=1 << 16)
def _title_shapes(title: str) -> tuple[frozenset[str], frozenset[str], frozenset[str] | None]:
    """A title's words: all of them, those outside parentheses, those before "and" / "&" / ":" (if any).
    Cached: a concept meets each of its close neighbours' titles once per pair."""
    bare = _PARENTHESES.sub(" ", title)
    parts = _JOINED.split(bare, maxsplit=1)
    return _title_words(title), _title_words(bare), _title_words(parts[0]) if len(parts) == 2 else None


def _extra_is_minor(fa_set: set[tuple[str, ...]], fb_set: set[tuple[str, ...]]) -> bool:
    for fa in fa_set:
        for fb in fb_set:
            small, big = (set(fa), set(fb)) if len(fa) <= len(fb) else (set(fb), set(fa))
            extra = big - small
            if small <= big and extra <= ((_MINOR | _MINOR_WITH_DIVE) if "dive" in extra else _MINOR):
                return True
    return False
