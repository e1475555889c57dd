"""Parser for ``topic-wiki.txt``: ``- <Title><Description>`` with nothing between.

Where the title ends is decided by a cascade of rules, strongest first. Each
record is flagged with the rule that decided it, and the report counts the
splits that only a fallback rule could decide.

1. ``echo``: the description restates the whole title (``BM25BM25 is …``);
   ``echo-article``: after an article (``LoRA AdapterA LoRA adapter is …``).
2. ``known``: the title is a known title from another source.
   ``paren``: a balanced parenthetical glued to the description (``(ViT)Dosovitskiy``).
3. ``echo-head``: the description starts with the title's first word
   (``Linear regression basicsLinear regression fits …``); ``echo-word``: with
   any word of the title (``… & NUTSHMC augments``). Neither cuts inside a
   token the corpus uses elsewhere (``Variance, Co|variance`` and
   ``GAN Family: W|GAN`` are words, not glue).
4. ``article``: a sentence-opening word glued to the title (``tradeoffThe …``).
5. ``glued-token`` (fallback): the first token seen nowhere else in the corpus
   whose last word-start capital opens a known word (``PCAPrincipal``).
6. ``case`` (fallback): the first lower-to-Upper transition starting a word.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ingest.reader import begin
from ingest.records import Locator, Notice, ParseResult, Rejection, SourceRecord

#: Titles longer than this are not looked for (the longest real one is ~90).
MAX_TITLE = 120
FALLBACK_RULES = frozenset({"glued-token", "case"})
ANNOUNCED = re.compile(r"(?:all|of) (?P<n>\d+) topics")
_TOKEN_STRIP = "()[]{}.,;:!?\"'“”‘’"


@dataclass(frozen=True)
class TitleSplit:
    title: str
    description: str
    rule: str


def token_vocabulary(texts: Iterable[str]) -> Counter[str]:
    """Lower-cased whitespace tokens stripped of surrounding punctuation."""
    vocab: Counter[str] = Counter()
    for text in texts:
        vocab.update(t.strip(_TOKEN_STRIP).lower() for t in text.split())
    return vocab


def _boundary(text: str, j: int) -> bool:
    return j >= len(text) or not text[j].isalnum()


def _glue_point(text: str, i: int) -> bool:
    """Could a title end just before ``i``? Titles end in a letter, digit, ``)``, ``+`` or ``?``."""
    return (text[i - 1].isalnum() or text[i - 1] in ")+?") and text[i] != " "


def _inside_word(text: str, i: int, vocabulary: Counter[str] | None) -> bool:
    """Would a cut at ``i`` split a token that the corpus uses elsewhere (``Co|variance``, ``W|GAN``)?

    A lower-to-Capitalised change (``LeakageData``, not ``StyleGAN``) is always a possible glue
    point; otherwise a real one joins two words into a token seen nowhere else
    (``basicsvLLM``), while the token around ``i`` counts once for this line itself.
    """
    if vocabulary is None or i <= 0 or not (text[i - 1].isalnum() and text[i].isalnum()):
        return False
    if text[i - 1].islower() and text[i].isupper() and text[i + 1 : i + 2].islower():
        return False
    start = text.rfind(" ", 0, i) + 1
    end = i
    while end < len(text) and (text[end].isalnum() or text[end] == "-"):
        end += 1
    return vocabulary[text[start:end].strip(_TOKEN_STRIP).lower()] >= 2


def _plausible_start(rest: str) -> bool:
    return bool(rest) and (rest[0].isupper() or rest[0] in "\\(" or rest[0].isdigit())


def split_title(
    text: str,
    known_titles: frozenset[str] = frozenset(),
    vocabulary: Counter[str] | None = None,
) -> TitleSplit | None:
    """Split ``<Title><Description>`` glued text; ``None`` if no rule applies."""
    text = text.strip()
    n = len(text)
    low = text.lower()

    # 1. echo: longest prefix that the remainder restates at a word boundary.
    #    The restatement may open with a quote: ``…Need“Attention Is All You Need” introduced``.
    for i in range(n // 2, 1, -1):
        if text[i - 1] == " " or text[i] == " ":
            continue
        # The restatement opens as the title does: ``xLSTMxLSTM``, ``BM25BM25``, never ``AaaA …`` read as
        # ``Aa`` + ``aA …`` (a cut between two lower-case letters of one word).
        if text[0].isalpha() and text[i].isalpha() and text[0].isupper() != text[i].isupper():
            continue
        q = 1 if text[i] in "“\"‘'" else 0
        if low.startswith(low[:i], i + q) and _boundary(text, 2 * i + q):
            return TitleSplit(text[:i], text[i:], "echo")
    #    echo-article: ``LoRA AdapterA LoRA adapter is …``.
    for i in range(n // 2, 1, -1):
        if text[i - 1] == " ":
            continue
        for article in ("a ", "an ", "the "):
            j = i + len(article)
            if low.startswith(article, i) and low.startswith(low[:i], j) and _boundary(text, j + i):
                return TitleSplit(text[:i], text[i:], "echo-article")

    # 2. known: the longest title known from another source.
    best = max(
        (k for k in known_titles if len(k) < n and text.startswith(k) and _plausible_start(text[len(k) :])),
        key=len,
        default=None,
    )
    if best:
        return TitleSplit(best, text[len(best) :], "known")

    # 2b. paren: a balanced parenthetical glued to the description (``(ViT)Dosovitskiy``).
    depth = 0
    for i, ch in enumerate(text[:-1]):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        # ``(Semi-)Definite``: an optional word part, not a parenthetical ending the title.
        if ch == ")" and depth == 0 and text[i - 1] != "-" and (text[i + 1].isalnum() or text[i + 1] == "\\"):
            return TitleSplit(text[: i + 1], text[i + 1 :], "paren")

    # 3. echo-head: the description starts with the title's first word.
    head = re.match(r"[^\s/]+", text)
    if head:
        word = head.group(0).rstrip(_TOKEN_STRIP).lower()
        if len(word) >= 2:
            for i in range(len(word), min(n - len(word), MAX_TITLE)):
                if (
                    _glue_point(text, i)
                    and low.startswith(word, i)
                    and _boundary(text, i + len(word))
                    and not _inside_word(text, i, vocabulary)
                ):
                    return TitleSplit(text[:i], text[i:], "echo-head")

    # 4. article: a sentence-opening word glued to the title (``tradeoffThe bias``).
    m = re.search(r"(?<=[^\s/-])(?:The|An?|In|This|These|It|For|When|Given|Two|Any|Every) ", text)
    if m and m.start() > 1:
        return TitleSplit(text[: m.start()], text[m.start() :], "article")

    # 3b. echo-word: the description opens with a word of the title (``NUTSHMC augments``).
    for i in range(2, min(n - 2, MAX_TITLE)):
        if not _glue_point(text, i):
            continue
        title_words = {w for w in re.split(r"[^\w+-]+", text[:i]) if len(w) >= 2}
        opener = re.match(r"[\w+-]+", text[i:])
        if (
            opener
            and opener.group(0) in title_words
            and (len(opener.group(0)) >= 3 or opener.group(0).isupper())
            and not _inside_word(text, i, vocabulary)
        ):
            return TitleSplit(text[:i], text[i:], "echo-word")

    # 5. glued-token: the first token seen nowhere else whose last word-start
    #    capital opens a known word (``PCAPrincipal``, ``CatBoostThree``).
    # 6. case: the same without a vocabulary to check against.
    for rule in ("glued-token", "case") if vocabulary is not None else ("case",):
        for m in re.finditer(r"\S+", text[:MAX_TITLE]):
            tok = m.group(0)
            if vocabulary is not None and vocabulary[tok.strip(_TOKEN_STRIP).lower()] >= 2:
                continue
            starts = [
                j
                for j in range(1, len(tok) - 1)
                if tok[j - 1] not in "-–—/(" and tok[j].isupper() and tok[j + 1].islower()
            ]
            if not starts:
                continue
            j = starts[-1]
            opener = re.match(r"[A-Za-z]+", tok[j:])
            if rule == "glued-token" and (opener is None or vocabulary[opener.group(0).lower()] < 1):
                continue
            i = m.start() + j
            return TitleSplit(text[:i], text[i:], rule)
    return None


def parse_topic_wiki(
    path: Path,
    known_titles: frozenset[str] = frozenset(),
    context: Iterable[str] = (),
) -> ParseResult:
    """``context``: text of the other sources, added to this file's own words for the glued-token rule."""
    src, result = begin(path, "topic-wiki")
    vocabulary = token_vocabulary([*(ln.text for ln in src.lines), *context])
    for ln in src.nonblank():
        loc = Locator(file=src.file, line=ln.number)
        if not ln.text.startswith("- "):
            m = ANNOUNCED.search(ln.text)
            if m:
                result.facts["announced_topics"] = int(m.group("n"))
            result.skipped.append(Rejection(locator=loc, reason="page preamble", text=ln.text))
            continue
        body = ln.text[2:].strip()
        split = split_title(body, known_titles, vocabulary)
        if split is None:
            result.rejections.append(
                Rejection(
                    locator=loc,
                    reason="cannot tell where the title ends and the description begins "
                    "(expected '- <Title><Description>' with a capitalised description)",
                    text=body,
                )
            )
            continue
        result.records.append(
            SourceRecord(
                source="topic-wiki",
                locator=loc,
                title=split.title.strip(),
                description=split.description.strip(),
                flags=(f"title-split:{split.rule}",),
            )
        )
    announced = result.facts.get("announced_topics")
    if isinstance(announced, int) and announced != result.records_read:
        result.warnings.append(
            Notice(message=f"page announces {announced} topics but {result.records_read} entries are present")
        )
    result.facts["fallback_splits"] = sum(
        1 for r in result.records if r.flags and r.flags[0].split(":")[1] in FALLBACK_RULES
    )
    return result
