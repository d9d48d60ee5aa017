"""WordNet relations -> relation-similarity records: schema, no benchmark pairs, determinism."""

import json

import pytest

from relvec.cli import main
from relvec.data import load_relation_similarity
from relvec.data.relation_similarity import RelationRecord, write_relation_records
from relvec.data.wordnet import benchmark_pairs, mix, wordnet_pairs, wordnet_records

from conftest import write_jsonl


class Lemma:
    def __init__(self, name, count=3, **pointers):
        self._name, self._count, self.pointers = name, count, pointers

    def name(self):
        return self._name

    def count(self):
        return self._count

    def __getattr__(self, pointer):
        if pointer.startswith("_") or pointer == "pointers":
            raise AttributeError(pointer)
        return lambda: self.pointers.get(pointer, [])


class Synset(Lemma):
    def __init__(self, lexname, lemmas, **pointers):
        super().__init__(lexname, **pointers)
        self._lemmas = lemmas

    def lexname(self):
        return self._lexname_value

    def lemmas(self):
        return self._lemmas


def synset(lexname, *names, **pointers):
    s = Synset(lexname, [Lemma(n) for n in names], **pointers)
    s._lexname_value = lexname
    return s


class FakeWordNet:
    def __init__(self):
        animal = synset("noun.Tops", "animal")
        bird = synset("noun.animal", "bird", hypernyms=[animal])
        robin = synset("noun.animal", "robin", "redbreast", hypernyms=[bird])
        dog = synset("noun.animal", "dog", "Dog", hypernyms=[animal])  # "Dog" is not lower-case: left out
        wheel = synset("noun.artifact", "wheel")
        car = synset("noun.artifact", "car", "x", part_meronyms=[wheel])  # "x" is too short
        hot, cold = Lemma("hot"), Lemma("cold")
        hot.pointers["antonyms"] = [cold]
        cold.pointers["antonyms"] = [hot]
        temp = Synset("adj.all", [hot, cold])
        temp._lexname_value = "adj.all"
        rare = synset("noun.animal", "okapi", hypernyms=[animal])
        rare._lemmas[0]._count = 0  # never seen in the sense counts
        self.synsets = [animal, bird, robin, dog, wheel, car, temp, rare]

    def all_synsets(self):
        return iter(self.synsets)


def test_pairs_schema_and_filters():
    pairs = wordnet_pairs(FakeWordNet())
    assert pairs["wn:hypernym:noun.animal"] == [
        ("bird", "animal"),
        ("dog", "animal"),
        ("redbreast", "bird"),
        ("robin", "bird"),
    ]
    assert pairs["wn:part_meronym:noun.artifact"] == [("car", "wheel")]
    assert pairs["wn:antonym:adj.all"] == [("cold", "hot"), ("hot", "cold")]
    assert wordnet_pairs(FakeWordNet(), min_count=5) == {}
    with pytest.raises(ValueError, match="unknown WordNet relations"):
        wordnet_pairs(FakeWordNet(), kinds=["synonym"])


def test_records_exclude_benchmark_pairs_and_are_deterministic():
    pairs = {"wn:a": [(f"w{i}", f"v{i}") for i in range(40)], "wn:small": [("a1", "b1"), ("a2", "b2")]}
    exclude = {("w3", "v3"), ("v5", "w5")}  # (v5, w5) only in the reverse order: (w5, v5) stays
    train, valid = wordnet_records(pairs, exclude, per_relation=20, min_pairs=3, valid_share=0.25, seed=1)
    assert (
        [r.relation_type for r in train] == ["wn:a"] and len(train[0].positives) == 15 and len(valid[0].positives) == 5
    )
    kept = {*train[0].positives, *valid[0].positives}
    assert ("w3", "v3") not in kept and not set(train[0].positives) & set(valid[0].positives)
    again = wordnet_records(pairs, exclude, per_relation=20, min_pairs=3, valid_share=0.25, seed=1)
    assert again == (train, valid)
    assert wordnet_records(pairs, exclude, per_relation=20, min_pairs=3, seed=2)[0] != train


def test_benchmark_pairs_cover_every_set_in_both_orders(tmp_path):
    q = {"stem": ["Cat", "kitten"], "answer": 0, "choice": [["dog", "puppy"], ["sun", "moon"]], "prefix": "p"}
    write_jsonl(tmp_path / "analogy" / "sat_full" / "test.jsonl", [q])
    write_jsonl(tmp_path / "analogy" / "u2" / "valid.jsonl", [q])
    write_jsonl(
        tmp_path / "lexical_relation" / "BLESS" / "train.jsonl",
        [{"head": "robin", "tail": "bird", "relation": "hyper"}],
    )
    pairs = benchmark_pairs(tmp_path)
    assert {("cat", "kitten"), ("kitten", "cat"), ("puppy", "dog"), ("bird", "robin"), ("robin", "bird")} <= pairs


def test_mix_and_round_trip(tmp_path):
    semeval = [RelationRecord(f"{i}a", [("a", f"b{i}"), ("c", f"d{i}")], [("x", "y")]) for i in range(10)]
    extra = [RelationRecord(f"wn:{i}", [("e", f"f{i}"), ("g", f"h{i}")], []) for i in range(8)]
    mixed = mix(semeval, extra, 0.5, seed=0)
    assert mixed[:10] == semeval and len(mixed) == 15 and all(r.relation_type.startswith("wn:") for r in mixed[10:])
    assert len(mix(semeval, extra, 3.0)) == 18 and mix(semeval, extra, 0.0) == semeval
    path = write_relation_records(tmp_path / "train.jsonl", mixed)
    loaded = load_relation_similarity(path)
    assert [(r.relation_type, r.positives, r.negatives) for r in loaded] == [
        (r.relation_type, r.positives, r.negatives) for r in mixed
    ]


def test_cli_data_wordnet(tmp_path, monkeypatch, relation_data, capsys):
    import relvec.cli.data as cli_data

    monkeypatch.setattr(cli_data, "load_wordnet", FakeWordNet)
    root = tmp_path / "data"
    (root / "semeval2012").mkdir(parents=True)
    for split in ("train", "valid"):
        (root / "semeval2012" / f"{split}.jsonl").write_text((relation_data / f"{split}.jsonl").read_text())
    write_jsonl(
        root / "lexical_relation" / "BLESS" / "train.jsonl", [{"head": "robin", "tail": "bird", "relation": "hyper"}]
    )
    out = tmp_path / "wn"
    argv = [
        "data",
        "wordnet",
        "--data-dir",
        str(root),
        "--output",
        str(out),
        "--min-pairs",
        "2",
        "--per-relation",
        "10",
    ]
    assert main(argv) == 0
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert rows and all(set(r) == {"relation_type", "positives", "negatives"} for r in rows)
    assert not any(["robin", "bird"] in r["positives"] for r in rows)  # a benchmark pair, left out
    assert "excluded" in capsys.readouterr().err
    assert main([*argv, "--mix-semeval", "1.0"]) == 0
    semeval = load_relation_similarity(root / "semeval2012", "train")
    mixed = load_relation_similarity(out, "train")
    assert [r.relation_type for r in mixed][: len(semeval)] == [r.relation_type for r in semeval]
    valid = load_relation_similarity(out, "valid")
    assert [r.relation_type for r in valid] == [
        r.relation_type for r in load_relation_similarity(root / "semeval2012", "valid")
    ]
