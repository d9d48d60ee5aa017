"""Data-parallel training: 2 gloo processes (torchrun via ``relvec train --nproc 2``) give the weights of one
process with ``relations_per_step=2``; grouped steps in one process behave as documented."""

import json
import sys

import pytest
import torch
from safetensors.torch import load_file

from relvec.recipes import train
from relvec.training.distributed import all_reduce_gradients, all_reduce_sum, world

from conftest import build_tiny_backbone, tiny_training_args


@pytest.fixture()
def still_backbone(tmp_path):
    return build_tiny_backbone(tmp_path / "still", dropout=0.0)  # no dropout: the RNG streams may differ


def weights(folder):
    return load_file(str(folder / "model.safetensors"))


def log(folder):
    return [json.loads(line) for line in (folder / "train_log.jsonl").read_text().splitlines()]


def test_grouped_steps_take_one_optimiser_step_per_group(tmp_path, still_backbone, relation_data):
    one = tiny_training_args(tmp_path / "one", still_backbone, relation_data, select_on="last")
    two = tiny_training_args(tmp_path / "two", still_backbone, relation_data, select_on="last", relations_per_step=2)
    train(one, show_progress_bar=False)
    train(two, show_progress_bar=False)
    relations = len(log(tmp_path / "one")) // one.epochs
    assert len(log(tmp_path / "two")) == two.epochs * -(-relations // 2)
    assert "," in log(tmp_path / "two")[0]["relation"]  # the group's relations are named
    a, b = weights(tmp_path / "one"), weights(tmp_path / "two")
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_outside_a_process_group_everything_is_local():
    assert world() == (0, 1)
    p = torch.nn.Parameter(torch.ones(2))
    p.grad = torch.full((2,), 3.0)
    all_reduce_gradients([p])
    assert torch.equal(p.grad, torch.full((2,), 3.0)) and all_reduce_sum([1.5, 2.0]) == [1.5, 2.0]


@pytest.mark.slow
def test_two_gloo_processes_equal_one_process_with_two_relations_per_step(tmp_path, still_backbone, relation_data):
    single = tiny_training_args(tmp_path / "single", still_backbone, relation_data, relations_per_step=2)
    train(single, show_progress_bar=False)
    config = {**single.to_dict(), "output_dir": str(tmp_path / "ddp")}
    (tmp_path / "ddp.json").write_text(json.dumps(config))
    argv = ["train", "--config", str(tmp_path / "ddp.json"), "--nproc", "2", "--threads", "1", "--no-progress"]
    import subprocess

    done = subprocess.run([sys.executable, "-m", "relvec", *argv], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    a, b = weights(tmp_path / "single"), weights(tmp_path / "ddp")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], atol=2e-5, rtol=1e-4)
    assert [e["relation"] for e in log(tmp_path / "ddp")] == [e["relation"] for e in log(tmp_path / "single")]
    history = json.loads((tmp_path / "ddp" / "history.json").read_text())
    assert history["arguments"]["relations_per_step"] == 2 and history["complete"]
    assert not (tmp_path / "ddp" / "checkpoint").exists()


def test_relations_per_step_must_divide_among_processes(tmp_path, relation_data, still_backbone, capsys):
    from relvec.cli import main

    assert main(["train", "--backbone", str(still_backbone), "--data", str(relation_data), "--nproc", "0"]) == 1
    assert "--nproc must be >= 1" in capsys.readouterr().err
