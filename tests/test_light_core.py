"""A light core: plotting, scikit-learn and YAML are extras with a clear error, and what the core needs of
them (F1 scores, card metadata) it computes itself, identically."""

import json

import numpy as np
import pytest

from relvec.cards import split_card
from relvec.evaluation.classification import micro_f1, per_class_f1
from relvec.extras import require


def test_f1_matches_scikit_learn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    truth = list(rng.choice(["a", "b", "c", "d"], size=200))
    predicted = list(rng.choice(["a", "b", "c", "e"], size=200))
    labels = sorted(set(truth) | set(predicted))
    expected = f1_score(truth, predicted, labels=labels, average=None, zero_division=0)
    assert list(per_class_f1(truth, predicted).values()) == pytest.approx(list(expected))
    assert micro_f1(truth, predicted) == pytest.approx(f1_score(truth, predicted, average="micro"))


def test_a_missing_extra_names_itself():
    with pytest.raises(ImportError, match=r"pip install 'relvec\[nope\]'"):
        require("nope", "a feature")


def test_card_metadata_needs_no_yaml_library(tiny_encoder, tmp_path):
    import yaml

    folder = tiny_encoder.save_pretrained(tmp_path / "m")
    meta, body = split_card((folder / "README.md").read_text())
    head = (folder / "README.md").read_text().split("---\n")[1]
    assert json.loads(head) == meta == yaml.safe_load(head)  # JSON front matter: valid YAML for the hub
    assert meta["library_name"] == "relvec" and "relvec" in body
