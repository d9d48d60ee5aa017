import itertools
import json

import numpy as np
import pytest
import torch

from relvec import RelationEncoder
from relvec.cli import main
from relvec.data import augment_negatives, load_relation_similarity
from relvec.losses import build_loss
from relvec.prompts import PromptShape
from relvec.training.prompt_search import (
    PromptSearchArguments,
    attach_prompt_encoder,
    autoprompt,
    batch_loss,
    candidate_token_ids,
    ptuning,
)

PAIRS = [("ba", "ce"), ("di", "fo"), ("gu", "ba")]


def test_prompt_shape():
    shape = PromptShape.parse("2,1,0")
    assert shape.num_triggers == 3 and shape.as_list() == [2, 1, 0]
    assert shape.template() == "[T] [T] <subj> [T] <obj> <mask>"
    assert shape.template(["x", "y", "z"]) == "x y <subj> z <obj> <mask>"
    assert PromptShape.parse([1, 1, 1]) == PromptShape(1, 1, 1)
    for bad, message in (
        ("1,2", "three counts"),
        ("a,b,c", "three integers"),
        ("0,0,0", "between 1 and"),
        ([-1, 2, 2], "non-negative"),
    ):
        with pytest.raises(ValueError, match=message):
            PromptShape.parse(bad)


def _autoprompt_model(tiny_dir, shape="1,2,1", ids=None):
    model = RelationEncoder.from_pretrained(tiny_dir, device="cpu")
    shape = PromptShape.parse(shape)
    first = candidate_token_ids(model.tokenizer)[0]
    model.config.prompt = {
        "method": "autoprompt",
        "shape": shape.as_list(),
        "trigger_ids": ids or [first] * shape.num_triggers,
    }
    model.set_trigger_ids(model.config.prompt["trigger_ids"])
    return model


def test_learned_tokenization_places_triggers_and_mask_exactly(tiny_dir):
    model = _autoprompt_model(tiny_dir)
    ids = model.config.prompt["trigger_ids"]
    (feature,) = model.tokenize([("[MASK]", "abc")])  # a word that is the mask token does not move the slot
    tok = model.tokenizer
    assert feature.input_ids[0] == tok.cls_token_id and feature.input_ids[-1] == tok.sep_token_id
    assert [feature.input_ids[p] for p in feature.trigger_positions] == ids
    assert feature.input_ids[feature.mask_index] == tok.mask_token_id
    assert feature.mask_index == len(feature.input_ids) - 2
    head = tok("[MASK]", add_special_tokens=False)["input_ids"]
    p0 = feature.trigger_positions[0]
    assert feature.input_ids[p0 + 1 : p0 + 1 + len(head)] == head
    batch = model.collate(model.tokenize(PAIRS))
    assert (batch["trigger_slot"] >= 0).sum() == 3 * 4
    # the readable template is the triggers written out
    assert model.config.template.endswith("<mask>") and "<subj>" in model.config.template


def test_candidates_are_whole_word_vocabulary_tokens(tiny_dir):
    tok = RelationEncoder.from_pretrained(tiny_dir, device="cpu").tokenizer
    allowed = candidate_token_ids(tok)
    tokens = tok.convert_ids_to_tokens(allowed)
    assert "relation" in tokens and "the" in tokens
    assert not any(t.startswith("##") or t in tok.all_special_tokens or not t.isalpha() for t in tokens)


def test_autoprompt_lowers_the_loss_on_its_batch(tiny_dir, relation_data):
    model = RelationEncoder.from_pretrained(tiny_dir, device="cpu")
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    records = augment_negatives(load_relation_similarity(relation_data, "train"))
    args = PromptSearchArguments(
        backbone=str(tiny_dir), shape="1,1,1", iterations=6, top_k=8, num_positive=3, num_negative=4,
        relations_per_batch=3, fixed_batch=True, precision="fp32",
    )  # fmt: skip
    log = autoprompt(model, records, args)
    losses = [e["loss_before"] for e in log] + [log[-1]["loss_after"]]
    assert all(e["loss_after"] <= e["loss_before"] + 1e-6 for e in log)
    assert all(b <= a + 1e-5 for a, b in itertools.pairwise(losses))  # never goes up on the batch
    assert any(e["accepted"] for e in log) and losses[-1] < losses[0]
    allowed = set(candidate_token_ids(model.tokenizer))
    assert all(i in allowed for i in model.config.prompt["trigger_ids"])
    assert model.config.template.split()[0] in model.config.prompt["trigger_tokens"]
    for k, v in model.backbone.state_dict().items():  # the encoder stayed frozen
        assert torch.equal(v, before[k])
    assert all(p.requires_grad for p in model.backbone.parameters())  # and is unfrozen afterwards


def test_ptuning_gradients_reach_only_the_prompt_encoder(tiny_dir):
    model = RelationEncoder.from_pretrained(tiny_dir, device="cpu")
    attach_prompt_encoder(model, PromptShape(1, 1, 1))
    model.backbone.requires_grad_(False)
    loss = batch_loss(model, build_loss("nce"), [(PAIRS[:2], PAIRS[2:])])
    loss.backward()
    grads = [p.grad for p in model.prompt_encoder.parameters()]
    assert all(g is not None for g in grads) and any(float(g.abs().sum()) > 0 for g in grads)
    assert all(p.grad is None for p in model.backbone.parameters())


def test_ptuning_trains_the_prompt_and_round_trips(tiny_dir, relation_data, tmp_path):
    model = RelationEncoder.from_pretrained(tiny_dir, device="cpu")
    backbone_before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    records = augment_negatives(load_relation_similarity(relation_data, "train"))
    args = PromptSearchArguments(
        method="ptuning", backbone=str(tiny_dir), shape="1,1,1", epochs=1, num_positive=3, num_negative=4,
        learning_rate=1e-2, output_dir=str(tmp_path / "pt"), precision="fp32",
    )  # fmt: skip
    torch.manual_seed(0)
    attach_prompt_encoder(model, PromptShape(1, 1, 1))
    initial = {k: v.clone() for k, v in model.prompt_encoder.state_dict().items()}
    model.prompt_encoder = None
    model.config.prompt = {}
    trained = ptuning(model, records, args)
    for k, v in trained.backbone.state_dict().items():
        assert torch.equal(v, backbone_before[k])
    assert trained.config.prompt["method"] == "ptuning"
    loaded = RelationEncoder.from_pretrained(tmp_path / "pt", device="cpu")
    np.testing.assert_allclose(loaded.encode(PAIRS), trained.encode(PAIRS), atol=1e-6)
    assert not (tmp_path / "pt" / "modules.json").exists()  # sentence-transformers cannot run it
    assert set(initial) == set(loaded.prompt_encoder.state_dict())
    with pytest.raises(ValueError, match="learned ptuning prompt"):
        RelationEncoder.from_pretrained(tmp_path / "pt", template="a")


def test_cli_autoprompt_then_finetune_with_the_found_prompt(tiny_dir, relation_data, tmp_path, capsys):
    out = tmp_path / "ap"
    argv = ["prompt", "search", "--method", "autoprompt", "--backbone", str(tiny_dir), "--data", str(relation_data)]
    argv += ["--shape", "1,1,1", "--iterations", "3", "--top-k", "3", "--num-positive", "3", "--num-negative", "4"]
    assert main([*argv, "--output", str(out), "--precision", "fp32"]) == 0
    template = (out / "template.txt").read_text().strip()
    assert capsys.readouterr().out.strip() == template and template.endswith("<mask>")
    log = json.loads((out / "prompt_search.json").read_text())["log"]
    assert len(log) == 3
    found = RelationEncoder.from_pretrained(out, device="cpu")
    assert found.config.prompt["method"] == "autoprompt" and found.template == template
    train = ["train", "--backbone", str(out), "--data", str(relation_data), "--output", str(tmp_path / "ft")]
    train += ["--epochs", "1", "--num-positive", "3", "--num-negative", "4", "--select-on", "last", "--no-progress"]
    assert main(train) == 0
    tuned = RelationEncoder.from_pretrained(tmp_path / "ft", device="cpu")
    assert tuned.config.prompt["trigger_ids"] == found.config.prompt["trigger_ids"] and tuned.config.training
    assert main(["embed", "--model", str(tmp_path / "ft"), "ba:ce", "--output", str(tmp_path / "v.npy")]) == 0
    assert np.load(tmp_path / "v.npy").shape == (1, 32)
    assert main([*argv, "--output", str(tmp_path / "bad"), "--shape", "0,0,0"]) == 1
    assert "between 1 and" in capsys.readouterr().err
