"""The numpy BM25 scores as bm25s does (its default lucene variant), on the real concept texts."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.bm25 import BM25
from retrieval.lexical import tokenize


@pytest.fixture(scope="module")
def corpus(workspace):
    concepts = list(workspace.catalog.concepts.values())
    return [tokenize(" ".join([c.label] * 3 + c.alt_labels * 2 + [c.definition or ""])) or ["_"] for c in concepts]


QUERIES = [
    "why divide dot products by the square root of the dimension",
    "attention attention heads",  # a repeated token counts twice, as in bm25s
    "gradient descent momentum",
    "zzzqqq",  # no token known: every score 0
    "kl divergence between two gaussians",
]


@pytest.mark.parametrize("query", QUERIES)
def test_scores_equal_bm25s(corpus, query):
    import bm25s

    ref = bm25s.BM25()
    ref.index(corpus, show_progress=False)
    tokens = tokenize(query)
    known = [t for t in tokens if t in ref.vocab_dict]
    want = ref.get_scores(known) if known else np.zeros(len(corpus))
    np.testing.assert_allclose(BM25(corpus).scores(tokens), want, rtol=1e-5, atol=1e-6)


def test_top_is_sorted_positive_and_stable():
    docs = [["a", "b"], ["a"], ["c"], ["a", "b"]]
    top = BM25(docs).top(["a", "b"], 10)
    assert [i for i, _ in top] == [0, 3, 1]  # equal scores: lower index first; doc 2 scores 0
    assert all(s > 0 for _, s in top)
    assert BM25(docs).top(["zz"], 3) == [] and BM25([]).top(["a"], 3) == []


def test_tokens_are_folded_stemmed_and_stop_words_dropped():
    """Snowball stemming: a query's word forms meet the description's ("retrieving" / "retrieval")."""
    assert tokenize("Retrieving the documents") == tokenize("retrieval of documents") == ["retriev", "document"]
    assert tokenize("Probabilistic models, naïvely") == ["probabilist", "model", "naiv"]


def test_an_index_made_by_another_tokenizer_is_refused():
    """A lexical file from before stemming (no tokenizer recorded) would match no stemmed query token
    where the words differ: it is refused, and the search service turns that into "rebuild"."""
    from retrieval.lexical import TOKENIZER, LexicalIndex

    old = BM25([["retrieval", "documents"]]).save()
    with pytest.raises(ValueError, match="tokenizer 'fold\\+stop'"):
        LexicalIndex.from_file(old, ["rag"])
    other = BM25([["retriev"]]).save(tokenizer=np.asarray(["something-else"]))
    with pytest.raises(ValueError, match=TOKENIZER.replace("+", "\\+")):
        LexicalIndex.from_file(other, ["rag"])


def test_each_thread_stems_with_its_own_stemmer_and_gets_the_same_tokens():
    """PyStemmer objects are not thread-safe and the API server searches from a thread pool: every thread
    has its own, and tokens stemmed concurrently equal those stemmed one at a time."""
    from concurrent.futures import ThreadPoolExecutor

    from retrieval.lexical import _stemmer

    texts = [f"retrieving {w} probabilistic generalisation of the {i} attention heads" for i, w in enumerate(QUERIES)]
    texts *= 40
    want = [tokenize(t) for t in texts]
    mine = _stemmer()
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(tokenize, texts)) == want
        assert not any(s is mine for s in pool.map(lambda _: _stemmer(), range(64)))
