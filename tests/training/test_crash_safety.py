"""Kill the trainer at every filesystem operation of its checkpoint and finish paths, then resume.

Every write, rename and folder removal of relvec goes through three primitives of ``relvec.files``;
the injector below counts them and "kills" the run at the N-th one (a BaseException nothing catches),
leaving what a real kill would: a half-written file, a half-deleted folder, a rename done or not.
Whatever N, ``--resume`` must produce the weights of an uninterrupted run, keep the selected epoch,
and leave no temporary folder behind.
"""

import json
import shutil
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from relvec import files
from relvec.recipes import train
from relvec.training import Trainer, TrainingArguments
from relvec.training.checkpoint import CHECKPOINT, HISTORY_FILE

from conftest import tiny_training_args

pytestmark = pytest.mark.slow
# SemEval-valid score by global step (5 relations per epoch): epoch 1 is the best, not the last.
SCORES = {0: 0.5, 5: 0.9, 10: 0.7, 15: 0.8}


class Killed(BaseException):
    """A simulated SIGKILL: no handler of relvec's may catch it."""


class Injector:
    def __init__(self, kill_at: int | None = None, after: bool = False) -> None:
        self.kill_at = kill_at
        self.after = after  # kill just after the operation instead of midway
        self.ops: list[str] = []
        self.real = (files._write, files._rename, files._rmtree)

    def _hit(self, name: str, path: Path) -> bool:
        self.ops.append(f"{name} {path.name}")
        return len(self.ops) == self.kill_at

    def write(self, path: Path, write) -> None:
        if not self._hit("write", path):
            return self.real[0](path, write)
        self.real[0](path, write)
        # cut the file short, as a kill mid-write would (a hard link is made whole or not at all)
        if not self.after and path.is_file() and path.stat().st_nlink == 1:
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 2])
        raise Killed(self.ops[-1])

    def rename(self, src: Path, dst: Path) -> None:
        if not self._hit("rename", src):
            return self.real[1](src, dst)
        if self.after:
            self.real[1](src, dst)
        raise Killed(self.ops[-1])

    def rmtree(self, path: Path) -> None:
        if not self._hit("rmtree", path):
            return self.real[2](path)
        victims = sorted(p for p in path.rglob("*") if p.is_file())
        for p in victims[: len(victims) // 2 + (1 if self.after else 0)]:
            p.unlink()
        raise Killed(self.ops[-1])


def _arguments(output: Path, tiny_dir: Path, relation_data: Path) -> TrainingArguments:
    return tiny_training_args(output, tiny_dir, relation_data, epochs=3)


@pytest.fixture()
def scripted_validation(monkeypatch):
    monkeypatch.setattr(Trainer, "_validate", lambda self: {"semeval_valid_accuracy": SCORES[self.global_step]})


def _run(
    args: TrainingArguments,
    monkeypatch,
    injector: Injector | None = None,
    resume: bool = False,
    epochs: list[int] | None = None,
) -> bool:
    """Train; True when the injector killed the run. ``epochs`` receives the epochs trained."""
    real_epoch = Trainer._train_epoch

    def counted(self, epoch):
        (epochs if epochs is not None else []).append(epoch)
        return real_epoch(self, epoch)

    with monkeypatch.context() as patch:
        patch.setattr(Trainer, "_train_epoch", counted)
        if injector is not None:
            patch.setattr(files, "_write", injector.write)
            patch.setattr(files, "_rename", injector.rename)
            patch.setattr(files, "_rmtree", injector.rmtree)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                train(args, resume=resume, show_progress_bar=False)
        except Killed:
            return True
    return False


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def _assert_finished_like(reference: Path, output: Path) -> None:
    expected, got = _weights(reference), _weights(output)
    assert expected.keys() == got.keys()
    for name in expected:
        assert torch.equal(expected[name], got[name]), name
    config = json.loads((output / "relvec_config.json").read_text())
    assert config["training"]["best_epoch"] == 1
    assert json.loads((output / HISTORY_FILE).read_text())["complete"] is True
    assert not (output / CHECKPOINT).exists()
    assert not [p.name for p in output.iterdir() if p.name.startswith(".")]
    assert not list(output.parent.glob(f".{output.name}.*"))  # nor beside it (a final save stages there)


@pytest.mark.parametrize("after", [False, True], ids=["midway", "just-after"])
def test_a_kill_at_any_filesystem_operation_resumes_to_the_same_model(
    tmp_path, tiny_dir, relation_data, monkeypatch, scripted_validation, after
):
    reference = tmp_path / "reference"
    counter = Injector()
    assert not _run(_arguments(reference, tiny_dir, relation_data), monkeypatch, counter)
    # the selected epoch (1) is not the last (3): the finish must take the saved best weights
    assert json.loads((reference / "relvec_config.json").read_text())["training"]["best_epoch"] == 1
    first = next(i for i, op in enumerate(counter.ops) if "checkpoint" in op)
    assert len(counter.ops) - first > 30, counter.ops  # every epoch's checkpoint and the finish are covered
    for kill_at in range(first + 1, len(counter.ops) + 1):
        output = tmp_path / f"killed-{kill_at}"
        args = _arguments(output, tiny_dir, relation_data)
        assert _run(args, monkeypatch, Injector(kill_at, after)), f"no kill at {counter.ops[kill_at - 1]}"
        # epochs whose checkpoint was swapped in before the kill must not be trained again
        done = counter.ops[: kill_at if after else kill_at - 1]
        committed = sum(op.startswith("rename .checkpoint.tmp-") for op in done)
        retrained: list[int] = []
        assert not _run(args, monkeypatch, resume=True, epochs=retrained)
        try:
            assert len(retrained) <= 3 - committed, f"trained epochs {retrained} again"
            if "history.json" in " ".join(done[-1:]) or any("rename .history" in op for op in done):
                assert not retrained  # the finish mark was written: nothing to train
            _assert_finished_like(reference, output)
        except AssertionError as exc:
            raise AssertionError(f"after a kill at {counter.ops[kill_at - 1]} (#{kill_at}): {exc}") from exc
        shutil.rmtree(output)


def test_resume_of_a_finished_run_does_not_train_again(tmp_path, tiny_dir, relation_data, monkeypatch, capsys):
    from relvec.cli import main

    output = tmp_path / "run"
    args = _arguments(output, tiny_dir, relation_data)
    assert not _run(args, monkeypatch)
    before = _weights(output)
    (output / ".checkpoint.tmp-1-dead").mkdir()  # a killed run's leftover is swept
    monkeypatch.setattr(Trainer, "_train_epoch", lambda *a: pytest.fail("a finished run was trained again"))
    argv = ["train", "--config", str(tmp_path / "args.json"), "--resume", "--no-progress"]
    (tmp_path / "args.json").write_text(json.dumps(args.to_dict()))
    assert main(argv) == 0
    assert "already finished" in capsys.readouterr().err
    after = _weights(output)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not (output / ".checkpoint.tmp-1-dead").exists()
