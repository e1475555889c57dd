"""Which way a mention points: does the text build on the concept it names, or the other way round?

A mention says two concepts are connected, not which comes first. The
sentence around it often does: "It is the mathematical principle that
*backpropagation* applies" (the chain rule comes first), "the workhorses
behind PAC / *generalization* proofs", "*PPO* is its first-order
approximation", "it makes *deep learning* practical" (the named concept builds on the described one), against
"trains it by *Q-learning*", "a family of modern *LSTM* variants", "combined
with *PagedAttention*" (the described concept builds on the named one).

:func:`direction` reads a few words either side of the phrase, within its
sentence, and answers ``+1`` (the text builds on what it names: the named
concept is a prerequisite candidate), ``-1`` (what it names builds on the
text's concept: the named concept is downstream) or ``0`` (no cue). The cue
lists are small and general English, not tuned per concept; the edge model
learns how much a cue is worth.
"""

from __future__ import annotations

import re

from ingest.text import fold, words

#: Words before the phrase (in its sentence) saying the named concept builds on the described one.
_BEFORE_DOWNSTREAM = re.compile(
    r"\b(?:substrate|basis|bases|foundations?|backbone|engine|workhorses?|building blocks?|principle|ingredients?"
    r"|cornerstone|underl(?:ies|ying|ie)|underpin(?:s|ning)?|powers|enables?|throughout|used (?:in|by|for|across"
    r"|within|inside)|applied (?:in|to)|heart of|central to|key to|behind|explains?|motivat(?:es|ed|ing)"
    r"|inspir(?:es|ed)|paved the way|precursor|predecessor|led to|leads to|gave rise|gives rise|prerequisite for"
    r"|essential for|needed for|required for|crucial for|generali[sz]ed (?:to|by|into)|extended (?:to|by|into)"
    r"|appears in|arises in|shows up in|later|successors?|descendants?|such as|including|e g|like)\b(?:\W+\w+){0,3}\W*$"
)
#: Words after the phrase saying the named concept builds on the described one ("backpropagation applies").
_AFTER_DOWNSTREAM = re.compile(
    r"^\W*(?:\w+\W+){0,1}(?:applies|uses|use|relies on|rely on|builds on|build on|depends on|exploits|employs"
    r"|extends (?:it|this)|generali[sz]es (?:it|this)|is (?:its|a|an) (?:\w+\W+){0,3}(?:approximation"
    r"|simplification|successor|variant|extension|generali[sz]ation|application|special case|refinement))\b"
)
#: Words before the phrase saying the described concept builds on the named one ("trains it by Q-learning").
_BEFORE_UPSTREAM = re.compile(
    r"\b(?:uses?|using|applies|applying|apply|via|built on|builds on|based on|relies on|relying on|extends"
    r"|extending|extension of|variants? of|version of|generali[sz]es|generali[sz]ation of|special case of"
    r"|combines|combining|combined with|on top of|requires|requiring|form of|kind of|type of|instance of"
    r"|class of|family of|adapts|adapting|modifies|modification of|improves on|improves upon|replaces"
    r"|replacing|trains?|training|fine tunes?|borrows?|inherits?|approximates|approximation of|simplifies"
    r"|simplification of|by a|by an|by the|with a|through|parameteri[sz]es|leverages?|leveraging|employs"
    r"|exploits|adds?|adding|augments?|reformulates?|recasts?|frames|treats)\b(?:\W+\w+){0,2}\W*$"
)
#: Words right after the phrase saying the described concept builds on the named one ("Transformer-based").
_AFTER_UPSTREAM = re.compile(r"^\W*(?:based|style|like|inspired|driven)\b")
#: "It makes *deep learning* practical", "made *modern LLM scaling* practical": the named concept is what the
#: described one makes possible, so it builds on it. Both halves must be there ("makes" alone says nothing).
_MAKES_BEFORE = re.compile(r"\b(?:makes?|made|making)\W+(?:\w+\W+){0,2}$")
_POSSIBLE_AFTER = re.compile(r"^\W*(?:\w+\W+){0,2}(?:practical|possible|feasible|tractable|scalable|affordable)\b")
_SENTENCE_END = re.compile(r"[.;:!?](?:\s|$)")
WINDOW = 80  # characters either side of the phrase that can hold a cue


def direction(text: str, phrase: str) -> int:
    """``+1`` if ``text`` builds on what ``phrase`` names, ``-1`` if that builds on ``text``'s concept, else 0.

    The first occurrence of ``phrase`` (matched word by word after folding) decides; a cue must sit within
    the phrase's sentence and a few words of it.
    """
    return folded_direction(fold(text), phrase)


def folded_direction(folded: str, phrase: str) -> int:
    """:func:`direction` of a text already passed through :func:`~ingest.text.fold` (fold each text once
    when asking about several of its phrases)."""
    tokens = words(phrase)
    if not tokens:
        return 0
    m = re.search(r"\b" + r"[^a-z0-9]*".join(map(re.escape, tokens)) + r"\w*", folded)
    if m is None:
        return 0
    before = folded[max(0, m.start() - WINDOW) : m.start()]
    stops = list(_SENTENCE_END.finditer(before))
    if stops:
        before = before[stops[-1].end() :]
    after = folded[m.end() : m.end() + WINDOW]
    stop = _SENTENCE_END.search(after)
    if stop:
        after = after[: stop.start()]
    before = re.sub(r"[^a-z0-9]+", " ", before)
    after = re.sub(r"[^a-z0-9]+", " ", after)
    if (
        _BEFORE_DOWNSTREAM.search(before)
        or _AFTER_DOWNSTREAM.search(after)
        or (_MAKES_BEFORE.search(before) and _POSSIBLE_AFTER.search(after))
    ):
        return -1
    if _BEFORE_UPSTREAM.search(before) or _AFTER_UPSTREAM.search(after):
        return 1
    return 0
