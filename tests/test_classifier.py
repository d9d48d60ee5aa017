"""The saved relation classifier: fit, predict, round trip, identity check, agreement with the suite, CLI."""

import json

import numpy as np
import pytest

from relvec.classifier import CLASSIFIER_CONFIG, RelationClassifier
from relvec.cli import main
from relvec.data import LexicalExample
from relvec.evaluation.classification import LexicalRelationEvaluator
from relvec.files import FileFormatError

from conftest import WordOffsetEncoder, write_jsonl


def toy(n: int, seed: int) -> tuple[dict, list[LexicalExample]]:
    """Pairs whose offset points along +e0 ('up'), −e0 ('down') or +e1 ('side'): separable by emb(h, t)."""
    rng = np.random.default_rng(seed)
    vectors, items = {}, []
    directions = {"up": np.eye(8)[0], "down": -np.eye(8)[0], "side": np.eye(8)[1]}
    for i in range(n):
        label = list(directions)[i % 3]
        head = rng.normal(size=8)
        vectors[f"h{seed}_{i}"] = head
        vectors[f"t{seed}_{i}"] = head + 3 * directions[label] + 0.3 * rng.normal(size=8)
        items.append(LexicalExample(f"h{seed}_{i}", f"t{seed}_{i}", label))
    return vectors, items


class Flipped(WordOffsetEncoder):
    def encode(self, pairs, *args, **kwargs):
        return -super().encode(pairs, *args, **kwargs)


@pytest.fixture()
def data():
    splits, vectors = {}, {}
    for split, (n, seed) in {"train": (150, 1), "valid": (60, 2), "test": (90, 3)}.items():
        v, splits[split] = toy(n, seed)
        vectors |= v
    return WordOffsetEncoder(vectors), splits


def test_fit_learns_a_separable_problem(data):
    model, splits = data
    clf = RelationClassifier.fit(model, splits["train"], splits["valid"])
    assert clf.labels == ["down", "side", "up"]
    predicted = clf.predict([(e.head, e.tail) for e in splits["test"]])
    assert np.mean([p == e.relation for p, e in zip(predicted, splits["test"], strict=True)]) >= 0.95
    probs = clf.predict_proba([(e.head, e.tail) for e in splits["test"][:5]])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    one = splits["test"][0]
    assert clf.predict((one.head, one.tail)) == one.relation and clf.predict_proba((one.head, one.tail)).shape == (3,)
    assert clf.config["valid_f1_micro"] is not None and "learning_rate_init" in clf.config


def test_matches_the_evaluation_suite(data):
    model, splits = data
    result = LexicalRelationEvaluator(splits["train"], splits["test"], splits["valid"])(model)
    clf = RelationClassifier.fit(model, splits["train"], splits["valid"])
    predicted = clf.predict([(e.head, e.tail) for e in splits["test"]])
    accuracy = float(np.mean([p == e.relation for p, e in zip(predicted, splits["test"], strict=True)]))
    assert accuracy == pytest.approx(result["f1_micro"])
    assert {k: clf.config[k] for k in result["selected"]} == result["selected"]


def test_without_validation_the_default_configuration_is_trained(data):
    model, splits = data
    clf = RelationClassifier.fit(
        model, [{"head": e.head, "tail": e.tail, "relation": e.relation} for e in splits["train"]]
    )
    assert clf.config["hidden_layer_sizes"] == 100 and clf.config["valid_f1_micro"] is None


def test_save_load_round_trip_and_identity_check(data, tmp_path):
    model, splits = data
    clf = RelationClassifier.fit(
        model, splits["train"], splits["valid"], grid={"learning_rate_init": [1e-3], "hidden_layer_sizes": [20]}
    )
    folder = clf.save_pretrained(tmp_path / "clf")
    names = sorted([CLASSIFIER_CONFIG, "classifier.safetensors", "README.md"])
    assert sorted(p.name for p in folder.iterdir()) == names
    assert "relation classifier" in (folder / "README.md").read_text()
    pairs = [(e.head, e.tail) for e in splits["test"][:7]]
    loaded = RelationClassifier.from_pretrained(folder, model=model)
    np.testing.assert_allclose(loaded.predict_proba(pairs), clf.predict_proba(pairs), atol=1e-6)
    assert loaded.labels == clf.labels and loaded.config == clf.config
    other = Flipped(model.vectors)  # same dimension, another embedding space
    with pytest.raises(ValueError, match="fingerprint differs"):
        RelationClassifier.from_pretrained(folder, model=other)
    info = json.loads((folder / CLASSIFIER_CONFIG).read_text())
    (folder / CLASSIFIER_CONFIG).write_text(json.dumps({**info, "format_version": 99}))
    with pytest.raises(FileFormatError, match="format_version 99"):
        RelationClassifier.from_pretrained(folder, model=model)


def test_bad_training_data_is_named(data):
    model, splits = data
    with pytest.raises(ValueError, match="train record 1"):
        RelationClassifier.fit(model, [splits["train"][0], {"head": "a", "tail": "b"}])
    with pytest.raises(ValueError, match="at least two relations"):
        RelationClassifier.fit(model, [e for e in splits["train"] if e.relation == "up"])
    with pytest.raises(ValueError, match="appear in valid but not in train"):
        RelationClassifier.fit(model, splits["train"], [LexicalExample("a", "b", "new")])


def test_cli_fit_and_predict(tiny_dir, tmp_path, capsys):
    rows = [
        {"head": h, "tail": t, "relation": r}
        for h, t, r in [
            ("cat", "animal", "hyp"),
            ("dog", "animal", "hyp"),
            ("wheel", "car", "mero"),
            ("door", "house", "mero"),
        ]
        * 3
    ]
    train = write_jsonl(tmp_path / "train.jsonl", rows)
    out = tmp_path / "clf"
    assert (
        main(
            [
                "classify",
                "fit",
                "--model",
                str(tiny_dir),
                "--data",
                str(train),
                "--valid",
                str(train),
                "--output",
                str(out),
            ]
        )
        == 0
    )
    assert "2 labels" in capsys.readouterr().err
    assert main(["classify", "predict", str(out), "cat:animal", "wheel:car", "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["head"] for x in lines] == ["cat", "wheel"] and set(lines[0]["probabilities"]) == {"hyp", "mero"}
    assert main(["classify", "predict", str(out)]) == 1
    assert "nothing to classify" in capsys.readouterr().err
    assert main(["classify", "fit", "--model", str(tiny_dir), "--data", "nope", "--output", str(out)]) == 1
    assert "neither a JSONL file" in capsys.readouterr().err
