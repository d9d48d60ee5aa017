import pytest

from relvec.data import (
    DataFormatError,
    RelationRecord,
    augment_negatives,
    data_dir,
    exclude_relations,
    group_by_parent,
    load_analogy,
    load_relation_similarity,
    merge_splits,
)

from conftest import write_jsonl

QUESTION = {"stem": ["a", "b"], "answer": 1, "choice": [["c", "d"], ["e", "f"]], "prefix": "p"}


def test_load_analogy_by_name_from_data_dir(tmp_path, monkeypatch):
    write_jsonl(tmp_path / "analogy" / "u2" / "valid.jsonl", [QUESTION, QUESTION])
    questions = load_analogy("u2", "valid", data_dir=tmp_path)
    assert len(questions) == 2 and questions[0].choices[1] == ("e", "f") and questions[0].answer == 1
    monkeypatch.setenv("RELVEC_DATA", str(tmp_path))
    assert load_analogy("u2", "valid") == questions
    with pytest.raises(ValueError, match="no 'test' split"):
        load_analogy("u2", "test")
    with pytest.raises(ValueError, match="unknown analogy dataset"):
        load_analogy("nope", "test")


def test_data_dir_errors(monkeypatch, tmp_path):
    monkeypatch.delenv("RELVEC_DATA", raising=False)
    with pytest.raises(ValueError, match="RELVEC_DATA"):
        data_dir()
    with pytest.raises(ValueError, match="does not exist"):
        data_dir(tmp_path / "missing")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "invalid JSON"),
        ('{"stem": ["a", "b"], "choice": [["c", "d"], ["e", "f"]]}', "missing field 'answer'"),
        ('{"stem": ["a", "b"], "answer": 5, "choice": [["c", "d"], ["e", "f"]]}', "'answer' must be an index"),
        ('{"stem": ["a"], "answer": 0, "choice": [["c", "d"], ["e", "f"]]}', "stem must be a pair"),
        ('{"stem": ["a", "b"], "answer": 0, "choice": [["c", ""], ["e", "f"]]}', "choice 0"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_malformed_analogy_file_names_file_line_reason(tmp_path, line, reason):
    import json

    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps(QUESTION) + "\n\n" + line + "\n")
    with pytest.raises(DataFormatError, match=rf"q\.jsonl:3: .*{reason}"):
        load_analogy(path)


def test_load_relation_similarity(relation_data, tmp_path):
    records = load_relation_similarity(relation_data, "train")
    assert [r.relation_type for r in records] == ["1a", "1b", "2a", "2b", "3a"]
    assert records[0].parent == "1" and len(records[0].positives) == 4
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"relation_type": "1a", "positives": [["a"]], "negatives": []}])
    with pytest.raises(DataFormatError, match=r"bad\.jsonl:1: positives\[0\]"):
        load_relation_similarity(bad)
    empty = write_jsonl(
        tmp_path / "empty.jsonl",
        [
            {"relation_type": "1a", "positives": [], "negatives": []},
            {"relation_type": "1b", "positives": [["a", "b"]], "negatives": []},
        ],
    )
    with pytest.warns(UserWarning, match="'1a' has no positives"):
        assert [r.relation_type for r in load_relation_similarity(empty)] == ["1b"]


RECORDS = [
    RelationRecord("1a", [("a", "b"), ("c", "d")], [("x", "y")]),
    RelationRecord("1b", [("e", "f")], [("a", "b"), ("g", "h")]),
    RelationRecord("2a", [("g", "h"), ("i", "j")], [("e", "f"), ("a", "b")]),
]


def test_exclude_relations_by_name_and_parent():
    kept = exclude_relations(RECORDS, ["1b"])
    assert [r.relation_type for r in kept] == ["1a", "2a"]
    assert ("e", "f") not in kept[1].negatives  # an excluded relation's pairs are never seen
    assert [r.relation_type for r in exclude_relations(RECORDS, ["1"])] == ["2a"]
    with pytest.raises(ValueError, match="unknown relations: 9"):
        exclude_relations(RECORDS, ["9"])


def test_group_by_parent_and_augment():
    groups = group_by_parent(RECORDS)
    assert [g.relation_type for g in groups] == ["1", "2"]
    assert groups[0].positives == [("a", "b"), ("c", "d"), ("e", "f")]
    assert ("a", "b") not in groups[0].negatives  # own positives never count as negatives
    augmented = augment_negatives(RECORDS)
    assert augmented[0].negatives == [("x", "y"), ("e", "f"), ("g", "h"), ("i", "j")]
    assert augment_negatives(augmented)[0].negatives == augmented[0].negatives  # idempotent
    assert ("a", "b") not in augment_negatives(RECORDS)[0].negatives


def test_merge_splits_joins_each_relation_across_splits():
    valid = [
        RelationRecord("2a", [("k", "l"), ("g", "h")], [("a", "b"), ("m", "n")]),
        RelationRecord("3a", [("o", "p")], [("k", "l")]),
        RelationRecord("1a", [("q", "r")], [("c", "d"), ("x", "y")]),
    ]
    merged = merge_splits([RECORDS, valid])
    assert [r.relation_type for r in merged] == ["1a", "1b", "2a", "3a"]  # first-seen order
    assert merged[0].positives == [("a", "b"), ("c", "d"), ("q", "r")]
    assert merged[0].negatives == [("x", "y")]  # ("c", "d") is 1a's own positive, ("x", "y") listed once
    assert merged[2].positives == [("g", "h"), ("i", "j"), ("k", "l")]
    assert merged[2].negatives == [("e", "f"), ("a", "b"), ("m", "n")]
    assert merged[1] == RECORDS[1] and merged[3] == valid[1]
    assert RECORDS[0].positives == [("a", "b"), ("c", "d")]  # the inputs are left as they were
    assert merge_splits([RECORDS]) == RECORDS


def test_conceptnet_and_trex_test_split_is_the_shuffled_2023_file(tmp_path):
    from relvec.data import analogy_path

    for name in ("conceptnet_relational_similarity", "t_rex_relational_similarity"):
        folder = tmp_path / "analogy" / name
        write_jsonl(folder / "test.jsonl", [QUESTION])
        write_jsonl(folder / "test_2023.jsonl", [QUESTION])
        write_jsonl(folder / "valid.jsonl", [QUESTION])
        assert analogy_path(name, "test", tmp_path).name == "test_2023.jsonl"
        assert analogy_path(name, "valid", tmp_path).name == "valid.jsonl"
    write_jsonl(tmp_path / "analogy" / "u2" / "test.jsonl", [QUESTION])
    assert analogy_path("u2", "test", tmp_path).name == "test.jsonl"


def test_lexical_relation_loader(tmp_path):
    from relvec.data import lexical_relation_path, load_lexical_relation

    rows = [{"head": "cat", "tail": "animal", "relation": "hyper"}, {"head": "a", "tail": "b", "relation": "random"}]
    write_jsonl(tmp_path / "lexical_relation" / "BLESS" / "train.jsonl", rows)
    examples = load_lexical_relation("BLESS", "train", tmp_path)
    assert [(e.head, e.tail, e.relation) for e in examples] == [("cat", "animal", "hyper"), ("a", "b", "random")]
    assert lexical_relation_path("BLESS", "valid", tmp_path) is None
    with pytest.raises(ValueError, match="no 'valid' split"):
        load_lexical_relation("BLESS", "valid", tmp_path)
    with pytest.raises(ValueError, match="unknown lexical-relation dataset"):
        load_lexical_relation("WordNet", "train", tmp_path)
    write_jsonl(tmp_path / "lexical_relation" / "BLESS" / "test.jsonl", [{"head": "x", "tail": "", "relation": "r"}])
    with pytest.raises(DataFormatError, match=r"test\.jsonl:1: field 'tail'"):
        load_lexical_relation("BLESS", "test", tmp_path)
