"""From what a user typed to one concept, the same way in the CLI, over HTTP and over MCP.

Steps, first that answers wins:

1. **exact**: an id, an IRI or any label (case and accents folded);
2. **variant**: a label written another way (hyphens for spaces, plural, an
   acronym expanded, a prerequisite slug: :meth:`Catalog.resolve_gold`);
3. **typo**: one concept whose label is within a small edit distance
   (rapidfuzz ``ratio`` >= :data:`TYPO`, ahead of the runner-up);
4. **partial**: the one concept with a label that begins with the reference
   as whole words ("Linear Algebra" -> "Linear Algebra for ML");
5. **semantic** (free text only): the best search hit, if its cosine to the
   text is at least :data:`FLOOR`; the answer says what was chosen.

Otherwise :class:`~ckg.errors.ConceptNotFoundError`, carrying "did you mean"
suggestions (labels that contain or resemble the text, then the nearest
concepts by meaning). The thresholds were set on a handful of typed examples
(``tests/test_names.py``): nonsense such as "zzzqqq xyz" or "banana" scores
0.16-0.28 against its nearest concept, real questions 0.52 and up.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from ckg.errors import ConceptNotFoundError
from ingest.text import fold

if TYPE_CHECKING:
    from kg.catalog import Catalog

#: Auto-pick a misspelt label from this rapidfuzz ratio (0-100) ...
TYPO = 85.0
#: ... when the runner-up (another concept) is at least this much lower.
TYPO_MARGIN = 3.0
#: Free text resolves to the best search hit only from this cosine.
FLOOR = 0.5
SUGGESTIONS = 5

How = Literal["exact", "variant", "typo", "partial", "semantic"]


class Resolution(BaseModel):
    """Which concept a reference named and how it was found (rendered before the answer)."""

    query: str
    id: str
    label: str
    how: How
    #: 1.0 for exact and variant, the label similarity (0-1) for typo, the cosine for semantic.
    score: float

    @property
    def guessed(self) -> bool:
        return self.how in ("typo", "partial", "semantic")

    def note(self) -> str:
        """One line for stderr (CLI) or a ``resolved`` field (HTTP, MCP) when the concept was guessed."""
        kind = {"typo": "closest spelling", "partial": "label that begins so"}.get(self.how, "closest match by meaning")
        return f"no concept named {self.query!r}; using the {kind}: {self.label} [{self.id}] ({self.score:.2f})"


class NameResolver:
    def __init__(self, catalog: Catalog, search: Any = None) -> None:
        """``search``: a :class:`~retrieval.service.SearchService`, or a callable giving one (loaded when
        free text first needs it: exact names never load the model)."""
        self.cat = catalog
        self._search = search

    @cached_property
    def search(self) -> Any:
        return self._search() if callable(self._search) and not hasattr(self._search, "search") else self._search

    @cached_property
    def _labels(self) -> tuple[list[str], list[str]]:
        """Folded labels and their concept ids (stubs last, so a real concept wins a tie)."""
        folded, ids = [], []
        for c in sorted(self.cat.concepts.values(), key=lambda c: (c.stub, c.id)):
            for label in dict.fromkeys((c.label, *c.alt_labels)):
                folded.append(" ".join(fold(label).split()))
                ids.append(c.id)
        return folded, ids

    def resolve(self, ref: str, *, free_text: bool = True) -> Resolution:
        """The concept ``ref`` names; ConceptNotFoundError (with suggestions) if none is clear enough."""
        ref = ref.strip()
        if not ref:
            raise ConceptNotFoundError("an empty concept reference; give an id, a label or some text")
        found = self.cat.lookup(ref)
        if found is not None:
            return Resolution(query=ref, id=found.id, label=found.label, how="exact", score=1.0)
        cid = self.cat.resolve_gold(ref)
        if cid is not None:
            return self._made(ref, cid, "variant", 1.0)
        typo = self._typo(ref)
        if typo is not None:
            return self._made(ref, typo[0], "typo", typo[1])
        partial = self._partial(ref)
        if partial is not None:
            return self._made(ref, partial, "partial", 1.0)
        if free_text and self.search is not None:
            hit = self._semantic(ref)
            if hit is not None:
                return self._made(ref, hit[0], "semantic", hit[1])
        raise self.not_found(ref, free_text=free_text)

    def _made(self, ref: str, cid: str, how: How, score: float) -> Resolution:
        return Resolution(query=ref, id=cid, label=self.cat.concepts[cid].label, how=how, score=round(score, 4))

    def _typo(self, ref: str) -> tuple[str, float] | None:
        from rapidfuzz import fuzz, process

        folded, ids = self._labels
        best: dict[str, float] = {}
        for _, score, i in process.extract(" ".join(fold(ref).split()), folded, scorer=fuzz.ratio, limit=10):
            best[ids[i]] = max(best.get(ids[i], 0.0), score)
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        if not ranked or ranked[0][1] < TYPO:
            return None
        if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < TYPO_MARGIN:
            return None  # two concepts equally close: ask, do not guess
        return ranked[0][0], ranked[0][1] / 100

    def _partial(self, ref: str) -> str | None:
        key = " ".join(fold(ref).split())
        if len(key) < 4:
            return None
        folded, ids = self._labels
        found = {ids[i] for i, label in enumerate(folded) if label.startswith(key + " ")}
        return found.pop() if len(found) == 1 else None

    def _semantic(self, ref: str) -> tuple[str, float] | None:
        """The nearest concept by meaning and its cosine, if it clears the floor."""
        nearest = self.search.dense(ref, 1)
        if not nearest or nearest[0][1] < FLOOR:
            return None
        return nearest[0][0], nearest[0][1]

    def suggestions(self, ref: str, *, free_text: bool = True) -> list[dict[str, Any]]:
        """Up to five concepts the user may have meant: by spelling, then by meaning."""
        from rapidfuzz import fuzz, process

        folded, ids = self._labels
        out: dict[str, dict[str, Any]] = {}
        for _, score, i in process.extract(" ".join(fold(ref).split()), folded, scorer=fuzz.WRatio, limit=20):
            if score >= 70 and ids[i] not in out:
                out[ids[i]] = {"id": ids[i], "label": self.cat.concepts[ids[i]].label, "score": round(score / 100, 3)}
        if free_text and self.search is not None and len(out) < SUGGESTIONS:
            for cid, score, _origin in self.search.dense(ref, SUGGESTIONS):
                if score >= FLOOR * 0.8 and cid not in out:
                    out[cid] = {"id": cid, "label": self.cat.concepts[cid].label, "score": round(score, 3)}
        return list(out.values())[:SUGGESTIONS]

    def not_found(self, ref: str, *, free_text: bool = True) -> ConceptNotFoundError:
        suggestions = self.suggestions(ref, free_text=free_text)
        hint = (
            "; did you mean " + ", ".join(f"{s['label']} [{s['id']}]" for s in suggestions) + "?" if suggestions else ""
        )
        what = "no concept named" if not free_text else "nothing close enough to"
        return ConceptNotFoundError(
            f"{what} {ref!r}{hint or '; try `ckg search` or `ckg concepts`'}", suggestions=suggestions
        )
