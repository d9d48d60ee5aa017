import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from relvec import RelationEncoder
from relvec.data import load_relation_similarity
from relvec.evaluation.analogy import semeval_valid_evaluator
from relvec.losses import NCELoss
from relvec.recipes import train, training_records
from relvec.training import (
    PRESETS,
    Trainer,
    TrainingArguments,
    chunks_by_length,
    linear_schedule,
    relation_step,
    validation_questions,
)
from relvec.training.checkpoint import CHECKPOINT, STATE_FILE

from conftest import tiny_training_args

POS = [("camera", "photographer"), ("pen", "writer"), ("oven", "baker"), ("brush", "painter")]
NEG = [("dog", "cat"), ("hot", "cold"), ("a", "b"), ("tokyo", "japan"), ("big", "large"), ("x", "y"), ("up", "down")]


def _grads(model):
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def _assert_same_grads(a, b):
    assert a.keys() == b.keys() and len(a) > 0
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-6, msg=name)


def test_gradient_cache_equals_direct_without_dropout(tmp_path):
    from conftest import build_tiny_backbone

    model = RelationEncoder.from_pretrained(build_tiny_backbone(tmp_path, dropout=0.0), device="cpu")
    loss_fn = NCELoss(0.1)
    model.train()
    direct_loss = relation_step(model, loss_fn, POS, NEG, chunk_size=64)  # one pass with a graph
    direct = _grads(model)
    model.zero_grad()
    cached_loss = relation_step(model, loss_fn, POS, NEG, chunk_size=3)  # 4 chunks via the cache
    assert cached_loss == pytest.approx(direct_loss, rel=1e-5)
    _assert_same_grads(direct, _grads(model))


def test_gradient_cache_replays_dropout(tiny_encoder):
    """With dropout on, the cache must reproduce each chunk's dropout mask."""
    model, loss_fn = tiny_encoder, NCELoss(0.1)
    model.train()
    features = model.tokenize([*POS, *NEG])
    chunks = chunks_by_length(features, 3)
    torch.manual_seed(1)
    parts = [(idx, model(model.collate([features[i] for i in idx]))) for idx in chunks]
    order = torch.tensor([i for idx, _ in parts for i in idx])
    stacked = torch.cat([emb for _, emb in parts])
    out = stacked[torch.argsort(order)]
    direct_loss = loss_fn(out[: len(POS)], out[len(POS) :])
    direct_loss.backward()
    direct = _grads(model)
    rng_after_direct = torch.get_rng_state()
    model.zero_grad()
    torch.manual_seed(1)
    cached_loss = relation_step(model, loss_fn, POS, NEG, chunk_size=3)
    assert cached_loss == pytest.approx(direct_loss.item(), rel=1e-5)
    _assert_same_grads(direct, _grads(model))
    assert torch.equal(torch.get_rng_state(), rng_after_direct)  # same RNG consumption as direct


def test_training_arguments_validation_and_presets(tmp_path):
    assert TrainingArguments.from_preset("paper").num_negative == 400
    quick = TrainingArguments.from_preset("quick", epochs=1)
    assert quick.epochs == 1 and quick.preset == "quick"
    for bad in ({"loss": "hinge"}, {"epochs": 0}, {"num_positive": 1}, {"learning_rate": -1.0}, {"pooling": "sum"}):
        with pytest.raises(ValueError):
            TrainingArguments(**bad)
    with pytest.raises(ValueError, match="unknown training arguments: nope"):
        TrainingArguments.from_dict({"nope": 1})
    (tmp_path / "a.yaml").write_text("preset: quick\nlearning_rate: 0.001\nexclude_relations: [1a, '2']\n")
    args = TrainingArguments.from_file(tmp_path / "a.yaml", epochs=2)
    assert args.learning_rate == 0.001 and args.epochs == 2 and args.num_negative == PRESETS["quick"]["num_negative"]
    assert args.exclude_relations == ["1a", "2"]
    (tmp_path / "b.json").write_text(json.dumps({"epochs": "three"}))
    with pytest.raises(ValueError, match=r"b\.json: epochs"):
        TrainingArguments.from_file(tmp_path / "b.json")
    assert TrainingArguments.from_dict(args.to_dict()) == args


def test_schedule():
    factor = linear_schedule(2, 10)
    assert [round(factor(s), 3) for s in (0, 1, 2, 6, 10)] == [0.333, 0.667, 1.0, 0.5, 0.0]


def test_validation_questions_are_deterministic(relation_data):
    valid = load_relation_similarity(relation_data, "valid")
    q1 = validation_questions(valid, per_relation=2, num_choices=3, seed=0)
    assert q1 == validation_questions(valid, per_relation=2, num_choices=3, seed=0)
    assert len(q1) == 10
    for q in q1:
        assert len(q.choices) == 3 and q.choices[q.answer] != q.stem


def _args(tmp_path, relation_data, **kw):
    return tiny_training_args(tmp_path / "run", kw.pop("backbone"), relation_data, **kw)


def test_trainer_end_to_end_outputs(tmp_path, tiny_dir, relation_data):
    args = _args(tmp_path, relation_data, backbone=tiny_dir)
    before = RelationEncoder.from_pretrained(tiny_dir, device="cpu").encode(POS)
    rng_before = torch.get_rng_state()
    model = train(args, show_progress_bar=False)
    assert torch.equal(torch.get_rng_state(), rng_before)  # caller's RNG untouched
    out = Path(args.output_dir)
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert len(log) == 2 * 5 and all(np.isfinite(e["loss"]) for e in log)
    history = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in history["history"]] == [1, 2]
    assert all(0 <= h["semeval_valid_accuracy"] <= 1 for h in history["history"])
    assert 0 <= history["baseline"]["semeval_valid_accuracy"] <= 1
    assert (out / "training_curve.png").stat().st_size > 1000
    assert not (out / CHECKPOINT).exists() and not (out / "best_model").exists()
    loaded = RelationEncoder.from_pretrained(out, device="cpu")
    assert loaded.config.training["best_epoch"] in (1, 2)
    np.testing.assert_allclose(loaded.encode(POS), model.encode(POS), atol=1e-6)
    assert not np.allclose(loaded.encode(POS), before)  # weights changed


def test_training_is_deterministic(tmp_path, tiny_dir, relation_data):
    a = train(_args(tmp_path / "a", relation_data, backbone=tiny_dir, epochs=1), show_progress_bar=False)
    b = train(_args(tmp_path / "b", relation_data, backbone=tiny_dir, epochs=1), show_progress_bar=False)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name


def test_triplet_with_classification_trains(tmp_path, tiny_dir, relation_data):
    args = _args(tmp_path, relation_data, backbone=tiny_dir, epochs=1, loss="triplet", classification=True)
    train(args, show_progress_bar=False)
    assert (Path(args.output_dir) / "model.safetensors").exists()


def test_failed_checkpoint_write_keeps_previous(tmp_path, tiny_dir, relation_data, monkeypatch):
    from relvec import files

    args = _args(tmp_path, relation_data, backbone=tiny_dir, epochs=2, keep_checkpoint=True)
    model = RelationEncoder.from_pretrained(tiny_dir, device="cpu")
    records = load_relation_similarity(relation_data)
    trainer = Trainer(
        model, args, records, semeval_valid_evaluator(validation_questions(records, 2)), show_progress_bar=False
    )
    real_create = files.create
    calls = {"n": 0}

    def flaky_create(path, write):
        if path.name == "optimizer.safetensors":
            calls["n"] += 1
            if calls["n"] == 2:  # the second epoch's checkpoint dies half-written
                path.write_bytes(b"partial")
                raise OSError("disk full")
        return real_create(path, write)

    monkeypatch.setattr(files, "create", flaky_create)
    import relvec.training.checkpoint

    monkeypatch.setattr(relvec.training.checkpoint, "create", flaky_create)
    with pytest.raises(OSError, match="disk full"):
        trainer.train()
    out = Path(args.output_dir)
    state = json.loads((out / CHECKPOINT / STATE_FILE).read_text())
    assert state["epoch"] == 1  # the complete epoch-1 checkpoint is still the one that loads
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # the half-written folder is gone
    monkeypatch.undo()
    resumed = Trainer(
        RelationEncoder.from_pretrained(tiny_dir, device="cpu"),
        args,
        records,
        semeval_valid_evaluator(validation_questions(records, 2)),
        show_progress_bar=False,
    )
    assert resumed._resume() == 1
    # A crash between the two renames of a swap leaves only the previous folder: it is still found.
    (out / CHECKPOINT).rename(out / f".{CHECKPOINT}.old-12345")
    assert resumed._resume() == 1
    assert (out / CHECKPOINT / STATE_FILE).is_file() and not (out / f".{CHECKPOINT}.old-12345").exists()
    # A checkpoint whose files do not match its manifest (e.g. half deleted) is never loaded.
    (out / CHECKPOINT / "optimizer.safetensors").unlink()
    with pytest.warns(UserWarning, match="no complete checkpoint"):
        assert resumed._resume() == 0


def test_resume_refuses_changed_arguments(tmp_path, tiny_dir, relation_data):
    args = _args(tmp_path, relation_data, backbone=tiny_dir, epochs=1, keep_checkpoint=True)
    train(args, show_progress_bar=False)
    changed = _args(tmp_path, relation_data, backbone=tiny_dir, epochs=1, keep_checkpoint=True, learning_rate=0.5)
    with pytest.raises(ValueError, match="learning_rate"):
        train(changed, resume=True, show_progress_bar=False)


KILL_SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys
    import torch
    from relvec.recipes import train
    from relvec.training import TrainingArguments
    torch.set_num_threads(1)
    args = TrainingArguments.from_dict(json.loads(sys.argv[1]))
    kill_at = int(sys.argv[2])
    resume = sys.argv[3] == "1"

    def killer(entry):
        if entry["global_step"] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    train(args, resume=resume, callbacks=[killer] if kill_at > 0 else [], show_progress_bar=False)
    """
)


def _run(args: TrainingArguments, kill_at: int, resume: bool) -> int:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-c", KILL_SCRIPT, json.dumps(args.to_dict()), str(kill_at), "1" if resume else "0"]
    return subprocess.run(cmd, env=env, capture_output=True, timeout=300).returncode


def test_killed_and_resumed_run_matches_uninterrupted(tmp_path, tiny_dir, relation_data):
    straight = _args(tmp_path / "straight", relation_data, backbone=tiny_dir, epochs=3)
    interrupted = _args(tmp_path / "killed", relation_data, backbone=tiny_dir, epochs=3)
    assert _run(straight, 0, False) == 0
    assert _run(interrupted, 8, False) == -9  # SIGKILL during epoch 2 (5 steps per epoch)
    state = json.loads((Path(interrupted.output_dir) / CHECKPOINT / STATE_FILE).read_text())
    assert state["epoch"] == 1
    assert _run(interrupted, 0, True) == 0
    a = load_file(str(Path(straight.output_dir) / "model.safetensors"))
    b = load_file(str(Path(interrupted.output_dir) / "model.safetensors"))
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    log = (Path(interrupted.output_dir) / "train_log.jsonl").read_text().splitlines()
    assert [json.loads(line)["global_step"] for line in log] == list(range(1, 16))


def test_no_progress_silences_every_bar_including_validation(tmp_path, tiny_dir, relation_data, capsys, monkeypatch):
    import relvec.encoders.prompt

    monkeypatch.setattr(relvec.encoders.prompt, "_PROGRESS_MIN_BATCHES", 1)  # any encode would show its bar by default
    args = _args(tmp_path, relation_data, backbone=tiny_dir, epochs=1)
    train(args, show_progress_bar=False)
    err = capsys.readouterr().err
    assert "encode" not in err and "epoch" not in err and "it/s" not in err


class _ScriptedEvaluator:
    """An evaluator whose score falls after the first epoch: the trainer must keep epoch 1."""

    name = "scripted"
    primary_metric = "score"

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, model):
        self.calls += 1
        return {"score": [0.1, 0.9, 0.2][self.calls - 1], "primary_metric": "score"}


def test_the_trainer_selects_the_epoch_with_the_evaluator_it_is_given(tmp_path, tiny_dir, relation_data):
    evaluator = _ScriptedEvaluator()
    args = _args(tmp_path, relation_data, backbone=tiny_dir, epochs=2)
    model = train(args, evaluator=evaluator, show_progress_bar=False)
    history = json.loads((Path(args.output_dir) / "history.json").read_text())
    assert evaluator.calls == 3  # before training, then after each epoch
    assert history["best_epoch"] == 1 and [h["scripted_score"] for h in history["history"]] == [0.9, 0.2]
    assert history["baseline"] == {"scripted_score": 0.1}
    assert model.config.training["best_epoch"] == 1


def test_a_run_finished_by_an_older_relvec_is_recognised_as_finished(tmp_path, tiny_dir, relation_data, monkeypatch):
    args = _args(tmp_path, relation_data, backbone=tiny_dir, epochs=1)
    train(args, show_progress_bar=False)
    history_path = Path(args.output_dir) / "history.json"
    old = json.loads(history_path.read_text())
    del old["complete"]  # older versions wrote no mark and kept the hybrid settings among the arguments
    old["arguments"] |= {"hybrid_vectors": None, "hybrid_bidirectional": False}
    history_path.write_text(json.dumps(old))
    monkeypatch.setattr(Trainer, "_train_epoch", lambda *a: pytest.fail("a finished run was trained again"))
    train(args, resume=True, show_progress_bar=False)


def test_analogy_valid_selection_logs_every_set_and_semeval_valid(tmp_path, tiny_dir, suite_data):
    args = tiny_training_args(
        tmp_path / "run",
        tiny_dir,
        suite_data / "semeval2012",
        data_dir=str(suite_data),
        select_on="analogy_valid",
        select_sets="u2",
    )
    train(args, show_progress_bar=False)
    history = json.loads((Path(args.output_dir) / "history.json").read_text())
    assert set(history["baseline"]) == {"valid_mean", "valid_u2", "valid_semeval_valid"}
    rows = history["history"]
    assert all(r["valid_mean"] == r["valid_u2"] for r in rows)
    best = max(range(len(rows)), key=lambda i: (rows[i]["valid_mean"], -i))
    assert history["best_epoch"] == best + 1


def test_select_sets_must_name_analogy_sets(tmp_path):
    with pytest.raises(ValueError, match=r"select_sets \(--select-sets\) must list analogy sets"):
        TrainingArguments(output_dir=str(tmp_path), select_sets="sat,BLESS")
    with pytest.raises(ValueError, match=r"select_sets \(--select-sets\)"):
        TrainingArguments(output_dir=str(tmp_path), select_sets=" , ")
    assert TrainingArguments(output_dir=str(tmp_path), select_sets="u4,my.jsonl").select_sets == "u4,my.jsonl"


def test_train_splits_are_checked(tmp_path):
    out = str(tmp_path)
    for bad in ("train,test", "train,train", "", " , "):
        with pytest.raises(ValueError, match=r"train_splits \(--train-splits\) must be a comma list"):
            TrainingArguments(output_dir=out, train_splits=bad)
    with pytest.raises(ValueError, match=r"select_on \(--select-on\) cannot be semeval_valid"):
        TrainingArguments(output_dir=out, train_splits="train,valid", select_on="semeval_valid")
    assert TrainingArguments(output_dir=out, train_splits="train, valid", select_on="last").train_splits


def test_training_on_train_and_valid_merges_them_and_never_reports_semeval_valid(tmp_path, tiny_dir, suite_data):
    data = suite_data / "semeval2012"
    args = tiny_training_args(
        tmp_path / "run", tiny_dir, data, data_dir=str(suite_data), select_on="analogy_valid", select_sets="u2"
    )
    args.train_splits = "train,valid"
    records = training_records(args)
    train_part, valid_part = (load_relation_similarity(data, s) for s in ("train", "valid"))
    for merged, a, b in zip(records, train_part, valid_part, strict=True):
        assert merged.positives == [*a.positives, *b.positives]
    train(args, show_progress_bar=False)
    history = json.loads((Path(args.output_dir) / "history.json").read_text())
    assert set(history["baseline"]) == {"valid_mean", "valid_u2"}  # in-sample, so not reported
    assert history["arguments"]["train_splits"] == "train,valid"
