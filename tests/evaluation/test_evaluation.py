import numpy as np
import pytest

from relvec.data import AnalogyQuestion
from relvec.evaluation import AnalogyEvaluator


class FakeEncoder:
    """Deterministic encoder: a fixed vector per (ordered) pair; counts what it was asked to embed."""

    def __init__(self, table):
        self.table = {k: np.asarray(v, dtype=np.float32) for k, v in table.items()}
        self.calls: list[list] = []

    def encode(self, pairs, batch_size=64, normalize=False, **kwargs):
        self.calls.append(list(pairs))
        return np.stack([self.table.get(tuple(p), np.array([0.0, 0.0, 1.0], np.float32)) for p in pairs])


TABLE = {
    ("a", "b"): [1, 0, 0],
    ("c", "d"): [0.9, 0.1, 0],
    ("e", "f"): [0, 1, 0],
    ("g", "h"): [0, 1, 0],
    ("b", "a"): [0, 1, 0],
    ("d", "c"): [1, 0, 0],
    ("f", "e"): [0, 1, 0],
}


def q(stem, choices, answer, prefix="p"):
    return AnalogyQuestion(stem, tuple(choices), answer, prefix)


def test_accuracy_breakdown_and_single_embedding_per_pair():
    questions = [
        q(("a", "b"), [("e", "f"), ("c", "d")], 1, "x"),  # correct
        q(("a", "b"), [("c", "d"), ("e", "f")], 1, "y"),  # wrong
        q(("e", "f"), [("a", "b"), ("g", "h")], 1, "y"),  # correct
    ]
    encoder = FakeEncoder(TABLE)
    result = AnalogyEvaluator(questions)(encoder)
    assert result["accuracy"] == pytest.approx(2 / 3)
    assert result["num_questions"] == 3 and result["primary_metric"] == "accuracy"
    assert result["per_prefix"]["x"] == {"accuracy": 1.0, "num_questions": 1}
    assert result["per_prefix"]["y"]["accuracy"] == pytest.approx(0.5)
    assert len(encoder.calls) == 1
    embedded = encoder.calls[0]
    assert len(embedded) == len(set(map(tuple, embedded))) == 4
    assert AnalogyEvaluator(questions).correct(FakeEncoder(TABLE)) == [True, False, True]  # per question, in order


def test_tie_for_top_is_a_miss():
    # Two choices share the best score; the answer is index 0 as in unshuffled source files.
    questions = [q(("e", "f"), [("g", "h"), ("f", "e"), ("a", "b")], 0)]
    assert AnalogyEvaluator(questions)(FakeEncoder(TABLE))["accuracy"] == 0.0
    assert AnalogyEvaluator(questions).correct(FakeEncoder(TABLE)) == [False]
    # Identical (constant) embeddings everywhere: every question is a tie, so nothing is right.
    const = FakeEncoder({})
    assert AnalogyEvaluator(questions)(const)["accuracy"] == 0.0


def test_reverse_and_bidirectional():
    questions = [q(("a", "b"), [("c", "d"), ("e", "f")], 1)]
    # forward: (a,b)=[1,0,0] prefers (c,d); reversed: (b,a)=[0,1,0] prefers (f,e).
    assert AnalogyEvaluator(questions)(FakeEncoder(TABLE))["accuracy"] == 0.0
    encoder = FakeEncoder(TABLE)
    assert AnalogyEvaluator(questions, reverse=True)(encoder)["accuracy"] == 1.0
    assert ("b", "a") in map(tuple, encoder.calls[0])
    scores = AnalogyEvaluator(questions, bidirectional=True).score(FakeEncoder(TABLE))[0]
    forward = np.array([0.9 / np.hypot(0.9, 0.1), 0.0])
    backward = np.array([0.0, 1.0])
    np.testing.assert_allclose(scores, (forward + backward) / 2, atol=1e-6)


def test_invalid_options():
    with pytest.raises(ValueError, match="no questions"):
        AnalogyEvaluator([])
    with pytest.raises(ValueError, match="either"):
        AnalogyEvaluator([q(("a", "b"), [("c", "d"), ("e", "f")], 0)], reverse=True, bidirectional=True)


def test_real_encoder_interface(tiny_encoder):
    questions = [q(("a", "b"), [("c", "d"), ("e", "f"), ("a", "b")], 2)]
    result = AnalogyEvaluator(questions)(tiny_encoder)
    assert result["accuracy"] == 1.0  # the stem itself is the closest choice


class _Fixed:
    def __init__(self, name, value):
        self.name, self.primary_metric, self.value, self.calls = name, "accuracy", value, 0

    def __call__(self, model):
        self.calls += 1
        return {"accuracy": self.value, "num_questions": 3, "primary_metric": "accuracy"}


def test_mean_evaluator_averages_sets_equally_and_reports_the_others_apart():
    from relvec.evaluation import MeanEvaluator

    sets = [_Fixed("sat", 0.2), _Fixed("u2", 0.6)]
    semeval = _Fixed("semeval_valid", 1.0)
    metrics = MeanEvaluator(sets, name="valid", report_only=[semeval])(object())
    assert metrics == {
        "sat": 0.2,
        "u2": 0.6,
        "semeval_valid": 1.0,
        "mean": pytest.approx(0.4),
        "primary_metric": "mean",
    }
    assert [e.calls for e in (*sets, semeval)] == [1, 1, 1]
    with pytest.raises(ValueError, match="no evaluators"):
        MeanEvaluator([])
    with pytest.raises(ValueError, match="distinct"):
        MeanEvaluator([_Fixed("sat", 0.1)], report_only=[_Fixed("sat", 0.2)])


def test_analogy_valid_evaluator_reads_the_valid_splits(suite_data):
    from relvec.evaluation.suite import analogy_valid_evaluator

    evaluator = analogy_valid_evaluator(["u2"], str(suite_data))
    table = {("cat", "kitten"): [1, 0, 0], ("dog", "puppy"): [1, 0.1, 0], ("sun", "planet"): [0, 1, 0]}
    metrics = evaluator(FakeEncoder(table))
    assert metrics["u2"] == 1.0 and metrics["mean"] == 1.0 and evaluator.name == "valid"
    with pytest.raises(ValueError, match="unknown analogy sets"):
        analogy_valid_evaluator(["nope"], str(suite_data))
