"""Tail averaging (--average-epochs): the running mean, what the trainer saves, and resume."""

import json
from pathlib import Path

import pytest
import torch

from relvec import RelationEncoder
from relvec.recipes import train
from relvec.training import TrainingArguments
from relvec.training.averaging import accumulate, averaged_epochs

from conftest import tiny_training_args


def test_running_mean_is_the_mean_and_its_limiting_cases_are_exact():
    g = torch.Generator().manual_seed(0)
    members = [{"w": torch.randn(5, 3, generator=g), "ids": torch.arange(4) + i} for i in range(4)]
    average = None
    for n, member in enumerate(members, start=1):
        average = accumulate(average, member, n)
        if n == 1:
            assert torch.equal(average["w"], member["w"]) and average["w"] is not member["w"]
    torch.testing.assert_close(average["w"], torch.stack([m["w"] for m in members]).mean(0), rtol=0, atol=1e-6)
    assert torch.equal(average["ids"], members[-1]["ids"])  # integer buffers are not averaged
    with pytest.raises(ValueError, match="earlier members"):
        accumulate(None, members[0], 2)
    assert averaged_epochs(5, 2) == [4, 5] and averaged_epochs(5, 0) == [] and averaged_epochs(3, 3) == [1, 2, 3]


def test_average_epochs_is_checked_against_epochs(tmp_path):
    with pytest.raises(ValueError, match=r"average_epochs \(--average-epochs\) must be at most epochs \(2\)"):
        TrainingArguments(output_dir=str(tmp_path), epochs=2, average_epochs=3)
    with pytest.raises(ValueError, match=r"average_epochs \(--average-epochs\) must be an integer"):
        TrainingArguments(output_dir=str(tmp_path), average_epochs=-1)


class _WeightRecorder:
    """Scores by call order and keeps a copy of the weights it was shown; can fail on a given call."""

    name = "rec"
    primary_metric = "score"

    def __init__(self, fail_on: int | None = None) -> None:
        self.weights: list[dict] = []
        self.fail_on = fail_on

    def __call__(self, model):
        if self.fail_on is not None and len(self.weights) + 1 == self.fail_on:
            raise RuntimeError("stop here")
        self.weights.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return {"score": [0.1, 0.9, 0.2, 0.3, 0.5][len(self.weights) - 1], "primary_metric": "score"}


def _saved(args) -> dict:
    return RelationEncoder.from_pretrained(args.output_dir, device="cpu").state_dict()


def test_the_trainer_saves_the_mean_of_the_last_epochs(tmp_path, tiny_dir, relation_data):
    recorder = _WeightRecorder()
    args = tiny_training_args(tmp_path / "run", tiny_dir, relation_data, epochs=3, average_epochs=2)
    train(args, evaluator=recorder, show_progress_bar=False)
    # calls: untrained, epochs 1-3, then the average itself
    assert len(recorder.weights) == 5
    saved = _saved(args)
    for key, value in saved.items():
        if value.is_floating_point():
            expected = (recorder.weights[2][key] + recorder.weights[3][key]) / 2
            torch.testing.assert_close(value, expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(recorder.weights[4], saved, rtol=0, atol=0)
    history = json.loads((Path(args.output_dir) / "history.json").read_text())
    assert history["best_epoch"] is None and history["average"] == {"epochs": [2, 3], "rec_score": 0.5}
    moved = [k for k, v in saved.items() if v.is_floating_point() and not torch.equal(v, recorder.weights[3][k])]
    assert moved  # not simply the last epoch


def test_averaging_one_epoch_saves_the_last_epoch_exactly(tmp_path, tiny_dir, relation_data):
    recorder = _WeightRecorder()
    args = tiny_training_args(tmp_path / "run", tiny_dir, relation_data, epochs=2, average_epochs=1)
    train(args, evaluator=recorder, show_progress_bar=False)
    saved = _saved(args)
    assert all(torch.equal(v, recorder.weights[2][k]) for k, v in saved.items())  # epoch 2, not the best (1)


def test_an_interrupted_averaging_run_resumes_to_the_same_weights(tmp_path, tiny_dir, relation_data):
    whole = tiny_training_args(tmp_path / "whole", tiny_dir, relation_data, epochs=3, average_epochs=2)
    train(whole, evaluator=_WeightRecorder(), show_progress_bar=False)
    cut = tiny_training_args(tmp_path / "cut", tiny_dir, relation_data, epochs=3, average_epochs=2)
    with pytest.raises(RuntimeError, match="stop here"):  # after epoch 3's training: the checkpoint holds epoch 2
        train(cut, evaluator=_WeightRecorder(fail_on=4), show_progress_bar=False)
    train(cut, resume=True, evaluator=_WeightRecorder(), show_progress_bar=False)
    expected, got = _saved(whole), _saved(cut)
    assert all(torch.equal(v, expected[k]) for k, v in got.items())
