import itertools
import os

import numpy as np
import pytest

from relvec.data import DataFormatError, MappingProblem, load_relation_mapping
from relvec.evaluation import RelationMappingEvaluator
from relvec.evaluation.mapping import best_mapping

from conftest import WordOffsetEncoder, write_jsonl

DATA = os.environ.get("RELVEC_DATA")


def brute_force(sim: np.ndarray) -> tuple[tuple[int, ...], float]:
    n = sim.shape[0]
    best = (None, -np.inf)
    for perm in itertools.permutations(range(n)):
        score = np.mean([max(sim[i, j, perm[i], perm[j]] for j in range(n) if j != i) for i in range(n)])
        if score > best[1]:
            best = (perm, score)
    return best


@pytest.mark.parametrize("n", [2, 4, 6])
def test_vectorised_search_matches_brute_force(n):
    rng = np.random.default_rng(n)
    sim = rng.uniform(-1, 1, size=(n, n, n, n))
    perm, score = best_mapping(sim)
    expected_perm, expected_score = brute_force(sim)
    assert perm == expected_perm and score == pytest.approx(expected_score)


def test_known_mapping_is_recovered_with_one_embedding_call():
    # targets share their source's word vector, so the right mapping makes every cosine 1
    rng = np.random.default_rng(0)
    source = ["sun", "planet", "gravity", "orbit", "mass"]
    target = ["nucleus", "electron", "charge", "shell", "weight"]
    shuffled = ["shell", "charge", "weight", "nucleus", "electron"]
    vectors = {}
    for s, t in zip(source, target, strict=True):
        vectors[s] = vectors[t] = rng.normal(size=6)
    encoder = WordOffsetEncoder(vectors)
    problem = MappingProblem("t", tuple(source), tuple(shuffled), tuple(shuffled.index(t) for t in target))
    result = RelationMappingEvaluator([problem])(encoder)
    assert result["accuracy"] == 1.0 and result["solved"] == 1.0
    assert result["per_problem"]["t"]["predicted"] == target
    assert result["per_problem"]["t"]["score"] == pytest.approx(1.0)
    assert len(encoder.encoded) == len(set(encoder.encoded)) == 2 * 5 * 4


def test_partial_credit_counts_terms():
    # identical embeddings everywhere: every mapping ties and the first permutation (identity) wins
    class Constant(WordOffsetEncoder):
        def encode(self, pairs, **kwargs):
            return np.ones((len(pairs), 3), dtype=np.float32)

    problem = MappingProblem("c", ("a", "b", "c"), ("x", "z", "y"), (0, 2, 1))
    result = RelationMappingEvaluator([problem])(Constant())
    assert result["accuracy"] == pytest.approx(1 / 3) and result["solved"] == 0.0


def test_loader_handles_mismatched_annotations(tmp_path, suite_data):
    problems = load_relation_mapping(data_dir=suite_data)
    (p,) = problems
    assert p.candidates == ("charge", "nucleus", "electron") and p.answer == (1, 2, 0)
    assert p.agreement is None and p.pos == ("nn", "nn", "nn")
    assert p.notes == ("agreement has 4 entries for 3 terms; ignored",)
    row = {"id": "x", "source": ["a", "b"], "target": ["c", "d"], "target_random": ["c", "e"]}
    with pytest.raises(DataFormatError, match=r"bad\.jsonl:1: target_random must be a permutation"):
        load_relation_mapping(write_jsonl(tmp_path / "bad.jsonl", [row]))
    row = {"id": "x", "source": ["a", "b", "c"], "target": ["c", "d"], "target_random": ["d", "c"]}
    with pytest.raises(DataFormatError, match="same length"):
        load_relation_mapping(write_jsonl(tmp_path / "bad.jsonl", [row]))


@pytest.mark.skipif(not DATA or not os.path.isdir(DATA), reason="RELVEC_DATA not set")
def test_real_data_quirks_are_explicit():
    problems = {p.id: p for p in load_relation_mapping()}
    assert len(problems) == 20
    assert problems["a6"].agreement is None and "agreement has 8 entries for 7 terms" in problems["a6"].notes[0]
    assert problems["m5"].pos is None and "pos has 8 entries for 6 terms" in problems["m5"].notes[0]
    assert sum(bool(p.notes) for p in problems.values()) == 2
