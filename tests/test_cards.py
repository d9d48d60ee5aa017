"""Model cards (README.md with YAML metadata) and pushing to the hub, offline."""

import json
from pathlib import Path

import pytest
import yaml

from relvec.cards import CARD_FILE, SEMEVAL_DATASET, model_index, split_card, update_card
from relvec.cli import main
from relvec.encoders.prompt import RelationEncoder
from relvec.hub import push_to_hub

TRAINING = {
    "arguments": {"backbone": "tiny", "data": "semeval2012", "loss": "nce", "epochs": 2, "learning_rate": 2e-5},
    "history": [{"epoch": 1, "train_loss": 2.5, "semeval_valid_accuracy": 0.61}],
    "best_epoch": 1,
}
RESULTS = {
    "split": "test",
    "analogy": {"sat_full": {"accuracy": 0.5234}, "u2": {"accuracy": 0.5}},
    "lexical_relation": {"BLESS": {"f1_micro": 0.917, "f1_macro": 0.913}},
    "relation_mapping": {"relation_mapping": {"accuracy": 0.843}},
}


def test_saved_folder_has_a_card_whose_yaml_parses(tiny_encoder, tmp_path):
    folder = tiny_encoder.save_pretrained(tmp_path / "m", training=TRAINING)
    meta, body = split_card((folder / CARD_FILE).read_text())
    assert meta["library_name"] == "relvec" and "relation-embedding" in meta["tags"]
    assert meta["datasets"] == [SEMEVAL_DATASET] and "model-index" not in meta
    assert 'RelationEncoder.from_pretrained("m")' in body and "AutoModel" in body
    assert "| learning_rate | 2e-05 |" in body and "| 1 | 2.5 | 0.61 |" in body
    assert RelationEncoder.from_pretrained(folder).embedding_dim == tiny_encoder.embedding_dim


def test_a_users_own_readme_is_never_overwritten(tiny_encoder, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / CARD_FILE).write_text("my notes\n")
    tiny_encoder.save_pretrained(folder)
    assert (folder / CARD_FILE).read_text() == "my notes\n"
    with pytest.raises(ValueError, match="no relvec model card"):
        update_card(folder, "m", RESULTS, "table")


def test_update_card_carries_the_figures_and_merges(tiny_encoder, tmp_path):
    folder = tiny_encoder.save_pretrained(tmp_path / "m")
    update_card(folder, "m", RESULTS, "| SAT | 52.3 |")
    meta, body = split_card((folder / CARD_FILE).read_text())
    results = meta["model-index"][0]["results"]
    values = {(r["dataset"]["config"], m["type"]): m["value"] for r in results for m in r["metrics"]}
    assert values[("sat_full", "accuracy")] == 0.5234 and values[("BLESS", "f1")] == 0.917
    assert values[("BLESS", "f1_macro")] == 0.913 and values[("relation_mapping", "accuracy")] == 0.843
    assert "| SAT | 52.3 |" in body and "Not evaluated yet" not in body
    update_card(folder, "m", {"split": "test", "analogy": {"sat_full": {"accuracy": 0.6}}}, "| SAT | 60.0 |")
    meta, body = split_card((folder / CARD_FILE).read_text())
    values = {
        (r["dataset"]["config"], m["type"]): m["value"] for r in meta["model-index"][0]["results"] for m in r["metrics"]
    }
    assert values[("sat_full", "accuracy")] == 0.6 and values[("u2", "accuracy")] == 0.5  # replaced, kept
    assert "52.3" not in body and "| SAT | 60.0 |" in body
    assert model_index("m", {}) == []


def test_eval_all_update_card(tiny_encoder, tmp_path, suite_data, capsys):
    folder = tiny_encoder.save_pretrained(tmp_path / "m")
    out = tmp_path / "r.json"
    argv = ["eval", "all", "--model", str(folder), "--data-dir", str(suite_data), "--output", str(out)]
    assert (
        main(
            [
                *argv,
                "--tasks",
                "analogy,lexical_relation",
                "--analogy-datasets",
                "sat_full",
                "--lexical-datasets",
                "BLESS",
                "--update-card",
            ]
        )
        == 0
    )
    meta, body = split_card((folder / CARD_FILE).read_text())
    types = {r["task"]["type"] for r in meta["model-index"][0]["results"]}
    assert types == {"analogy-questions", "lexical-relation-classification"}
    assert "Lexical relation classification" in body
    plain = tmp_path / "plain"
    plain.mkdir()
    assert main(["eval", "all", "--model", str(plain), "--update-card", "--output", str(out)]) == 1
    assert "no relvec model card" in capsys.readouterr().err


class FakeApi:
    def __init__(self):
        self.calls = []

    def create_repo(self, **kwargs):
        self.calls.append(("create_repo", kwargs))

    def create_commit(self, **kwargs):
        self.calls.append(("create_commit", kwargs))
        return type("Info", (), {"commit_url": f"https://hub/{kwargs['repo_id']}/commit/1"})()


def test_push_sends_the_folder_to_the_repo(tiny_encoder, tmp_path):
    folder = tiny_encoder.save_pretrained(tmp_path / "m")
    api = FakeApi()
    url = push_to_hub(folder, "me/tiny-relvec", private=True, api=api)
    assert url == "https://hub/me/tiny-relvec/commit/1"
    (name, create), (upload_name, upload) = api.calls
    assert name == "create_repo" and create["repo_id"] == "me/tiny-relvec" and create["private"] is True
    assert upload_name == "create_commit" and upload["repo_id"] == "me/tiny-relvec"
    sent = {op.path_in_repo for op in upload["operations"]}
    assert "relvec_config.json" in sent and all(
        Path(op.path_or_fileobj).is_relative_to(folder) for op in upload["operations"]
    )
    with pytest.raises(ValueError, match="USER/NAME"):
        push_to_hub(folder, "no-slash", api=api)
    with pytest.raises(ValueError, match="not a saved relvec folder"):
        push_to_hub(tmp_path, "me/x", api=api)


def test_push_refuses_offline_or_without_token(tiny_encoder, tmp_path, monkeypatch, capsys):
    folder = tiny_encoder.save_pretrained(tmp_path / "m")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["push", str(folder), "--repo-id", "me/x"]) == 1
    assert "HF_HUB_OFFLINE" in capsys.readouterr().err
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    assert main(["push", str(folder), "--repo-id", "me/x"]) == 1
    assert "no Hugging Face token" in capsys.readouterr().err


def test_classifier_folder_can_be_pushed(tmp_path):
    folder = tmp_path / "clf"
    folder.mkdir()
    (folder / "relvec_classifier.json").write_text(json.dumps({"format_version": 1}))
    api = FakeApi()
    push_to_hub(folder, "me/clf", api=api)
    assert [op.path_in_repo for op in api.calls[1][1]["operations"]] == ["relvec_classifier.json"]
    assert yaml.safe_load("a: 1") == {"a": 1}


@pytest.mark.parametrize(
    ("training", "kept"),
    [
        ({"best_epoch": 3, "arguments": {"select_on": "semeval_valid"}}, "epoch 3 (best on the SemEval-2012"),
        (
            {"best_epoch": 2, "arguments": {"select_on": "analogy_valid", "select_sets": "u2,u4"}},
            "epoch 2 (best on the mean accuracy on the valid splits of u2,u4)",
        ),
        ({"best_epoch": 4, "arguments": {"select_on": "last"}}, "epoch 4 (being the last epoch)"),
        (
            {"best_epoch": None, "average": {"epochs": [6, 7, 8]}, "arguments": {}},
            "the mean of the weights after epochs 6–8",
        ),
    ],
)
def test_the_card_says_which_weights_were_kept(training, kept):
    from relvec.cards import render_card

    text = render_card("run", "a relation encoder", "relvec embed a:b", training=training)
    assert f"Kept: {kept}" in text
