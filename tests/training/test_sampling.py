"""Relation sampling, apart from the trainer: records prepared once, each epoch's samples from one seeded stream."""

import numpy as np
import pytest

from relvec.data import RelationRecord
from relvec.training import TrainingArguments, prepare_records, sample_epoch, sample_relation

POS = [("camera", "photographer"), ("pen", "writer"), ("oven", "baker"), ("brush", "painter")]
NEG = [("dog", "cat"), ("hot", "cold"), ("a", "b"), ("tokyo", "japan"), ("big", "large"), ("x", "y"), ("up", "down")]


def test_sampling_draws_from_the_record():
    records = load_relation_similarity_stub()
    pos, neg = sample_relation(records, 3, 2, np.random.default_rng(0))
    assert len(pos) == 3 and len(neg) == 2 and set(pos) <= set(records.positives)
    # the default draws nothing more from the generator, so runs without reversed negatives are unchanged
    assert sample_relation(records, 3, 2, np.random.default_rng(0), 0) == (pos, neg)


def test_reversed_negatives_are_flipped_positives_of_the_step():
    from relvec.data import RelationRecord

    positives = [("a", "b"), ("c", "d"), ("e", "f"), ("f", "e"), ("g", "h")]  # (e, f) is symmetric here
    record = RelationRecord("1a", positives, [("x", "y"), ("y", "z")])
    for seed in range(20):
        pos, neg = sample_relation(record, 5, 2, np.random.default_rng(seed), num_reversed=2)
        reversed_part = neg[2:]
        assert len(reversed_part) == 2 and len(set(reversed_part)) == 2
        assert all((t, h) in pos and (h, t) not in positives for h, t in reversed_part)
    _, few = sample_relation(record, 5, 2, np.random.default_rng(0), num_reversed=10)
    assert sorted(few[2:]) == [("b", "a"), ("d", "c"), ("h", "g")]
    with pytest.raises(ValueError, match="reversed_negatives"):
        TrainingArguments(reversed_negatives=-1)


def test_an_epoch_is_the_same_for_every_process_and_differs_between_epochs():
    records = [
        RelationRecord(f"r{i}", [(f"a{i}{j}", f"b{i}{j}") for j in range(6)], [(f"x{i}", "y"), (f"z{i}", "w")])
        for i in range(5)
    ]
    args = TrainingArguments(num_positive=3, num_negative=1, seed=7)
    order, samples = sample_epoch(records, args, epoch=0)
    again_order, again = sample_epoch(records, args, epoch=0)
    assert list(order) == list(again_order) and samples == again
    assert sorted(order) == list(range(5)) and len(samples) == 5
    for position, (pos, neg) in zip(order, samples, strict=True):
        assert set(pos) <= set(records[position].positives) and len(pos) == 3 and len(neg) == 1
    other_order, other = sample_epoch(records, args, epoch=1)
    assert (list(other_order), other) != (list(order), samples)


def test_prepare_records_filters_and_refuses_nothing_usable():
    records = [RelationRecord("1a", [("a", "b"), ("c", "d")], [("e", "f")]), RelationRecord("2b", [("g", "h")], [])]
    args = TrainingArguments(augment_negatives=False)
    assert [r.relation_type for r in prepare_records(records, args)] == ["1a"]
    with pytest.raises(ValueError, match="at least two positives"):
        prepare_records(records[1:], args)


def load_relation_similarity_stub():
    from relvec.data import RelationRecord

    return RelationRecord("1a", POS, NEG)
