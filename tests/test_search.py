import numpy as np
import pytest

from relvec.search import RelationIndex

from conftest import WordOffsetEncoder

# Offsets in 2-D: the angle of each pair's relation decides its neighbours.
ANGLES = {("a", "a1"): 0, ("b", "b1"): 10, ("c", "c1"): 20, ("d", "d1"): 90, ("e", "e1"): 180, ("q", "q1"): 4}


def encoder() -> WordOffsetEncoder:
    vectors = {}
    for (h, t), deg in ANGLES.items():
        vectors[h] = np.zeros(2)
        vectors[t] = np.array([np.cos(np.radians(deg)), np.sin(np.radians(deg))])
    for i, word in enumerate(["paris", "france", "baker", "bread", "puppy", "dog", "hot", "cold"]):
        vectors[word] = np.array([np.cos(i), np.sin(i)])
    return WordOffsetEncoder(vectors)


INDEXED = [p for p in ANGLES if p != ("q", "q1")]


def test_exact_search_returns_the_known_order():
    index = RelationIndex.build(encoder(), [*INDEXED, INDEXED[0]])  # duplicates are indexed once
    assert len(index) == 5
    (found,) = index.query(encoder(), [("q", "q1")], k=3)
    assert [n.pair for n in found] == [("a", "a1"), ("b", "b1"), ("c", "c1")]
    assert found[0].score == pytest.approx(np.cos(np.radians(4)), abs=1e-6)
    (everything,) = index.query(encoder(), [("q", "q1")], k=50)
    assert [n.pair for n in everything][-1] == ("e", "e1") and len(everything) == 5


def test_query_pair_itself_is_excluded_unless_asked():
    index = RelationIndex.build(encoder(), INDEXED)
    (found,) = index.query(encoder(), [("b", "b1")], k=2)
    assert [n.pair for n in found] == [("a", "a1"), ("c", "c1")]
    (found,) = index.query(encoder(), [("b", "b1")], k=1, exclude_self=False)
    assert found[0].pair == ("b", "b1") and found[0].score == pytest.approx(1.0)


def test_exact_search_chunks_agree(monkeypatch):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(1000, 16))
    pairs = [(f"h{i}", f"t{i}") for i in range(1000)]
    index = RelationIndex(pairs, vectors, identity={})
    queries = rng.normal(size=(3, 16))
    full = index.search(queries, k=7)
    monkeypatch.setattr("relvec.search._CHUNK", 64)
    assert index.search(queries, k=7) == full
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    expected = np.argsort(-(unit @ (queries[0] / np.linalg.norm(queries[0]))))[:7]
    assert [n.pair for n in full[0]] == [pairs[i] for i in expected]


def test_faiss_backend_agrees_with_exact():
    pytest.importorskip("faiss")
    rng = np.random.default_rng(1)
    pairs = [(f"h{i}", f"t{i}") for i in range(500)]
    vectors = rng.normal(size=(500, 12))
    queries = rng.normal(size=(4, 12))
    exact = RelationIndex(pairs, vectors, {}).search(queries, k=5)
    flat = RelationIndex(pairs, vectors, {}, backend="faiss").search(queries, k=5)
    assert [[n.pair for n in row] for row in flat] == [[n.pair for n in row] for row in exact]
    for a, b in zip(exact, flat, strict=True):
        np.testing.assert_allclose([n.score for n in a], [n.score for n in b], atol=1e-5)


def test_save_load_and_model_identity_check(tmp_path):
    index = RelationIndex.build(encoder(), INDEXED)
    index.save(tmp_path / "idx")
    loaded = RelationIndex.load(tmp_path / "idx")
    assert loaded.pairs == index.pairs and loaded.identity == index.identity
    np.testing.assert_array_equal(loaded.vectors, index.vectors)
    assert loaded.query(encoder(), [("q", "q1")], k=1)[0][0].pair == ("a", "a1")
    other = encoder()
    other.vectors["paris"] = np.array([0.3, -2.0])
    with pytest.raises(ValueError, match="embeds pairs differently"):
        loaded.query(other, [("q", "q1")])
    with pytest.raises(ValueError, match="not a relvec index"):
        RelationIndex.load(tmp_path)
    with pytest.raises(ValueError, match="k must be"):
        loaded.search(np.ones((1, 2)), k=0)
    with pytest.raises(ValueError, match="backend"):
        RelationIndex(index.pairs, index.vectors, {}, backend="annoy")


def test_approximate_backends_find_most_true_neighbours_and_auto_chooses_by_size(monkeypatch):
    pytest.importorskip("faiss")
    from relvec import search

    rng = np.random.default_rng(2)
    centres = rng.normal(size=(40, 16))
    vectors = centres[rng.integers(0, 40, 4000)] + 0.3 * rng.normal(size=(4000, 16))  # clustered, like real pairs
    pairs = [(f"h{i}", f"t{i}") for i in range(4000)]
    queries = vectors[:50] + 0.05 * rng.normal(size=(50, 16))
    exact = RelationIndex(pairs, vectors, {}).search(queries, k=10)
    for backend in ("faiss-ivf", "faiss-hnsw"):
        found = RelationIndex(pairs, vectors, {}, backend=backend).search(queries, k=10)
        recall = np.mean(
            [len({n.pair for n in a} & {n.pair for n in b}) / 10 for a, b in zip(exact, found, strict=True)]
        )
        assert recall >= 0.9, (backend, recall)
    assert RelationIndex(pairs, vectors, {}, backend="auto").backend == "exact"
    monkeypatch.setattr(search, "AUTO_EXACT_BELOW", 1000)
    monkeypatch.setattr(search, "AUTO_IVF_FROM", 3000)
    assert search.choose_backend(999) == "exact" and search.choose_backend(2000) == "faiss-hnsw"
    assert RelationIndex(pairs, vectors, {}, backend="auto").backend == "faiss-ivf"


@pytest.mark.parametrize("backend", ["faiss-hnsw-sq8", "faiss-ivfpq"])
def test_indexes_over_compressed_codes_return_the_exact_top_1_after_rescoring(backend):
    pytest.importorskip("faiss")
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(40, 32))
    vectors = centres[rng.integers(0, 40, 4000)] + 0.3 * rng.normal(size=(4000, 32))
    pairs = [(f"h{i}", f"t{i}") for i in range(4000)]
    queries = vectors[:50] + 0.05 * rng.normal(size=(50, 32))
    exact = RelationIndex(pairs, vectors, {}).search(queries, k=10)
    compressed = RelationIndex(pairs, vectors, {}, backend=backend)
    found = compressed.search(queries, k=10)
    assert [a[0].pair for a in found] == [b[0].pair for b in exact]  # rescored exactly: the exact top 1
    for a, b in zip(found, exact, strict=True):  # and exact scores for what it returns
        assert a[0].score == pytest.approx(b[0].score, abs=1e-5)
    recall = np.mean([len({n.pair for n in a} & {n.pair for n in b}) / 10 for a, b in zip(exact, found, strict=True)])
    assert recall >= 0.9, recall
