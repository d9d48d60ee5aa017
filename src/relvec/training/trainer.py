"""Contrastive fine-tuning of a relation encoder on relation-similarity data (RelBERT, Sec. 3.2).

One optimiser step per group of ``relations_per_step`` relations (each relation's gradient from
:mod:`relvec.training.gradient_cache`, scaled by 1 / group size). Under torchrun the processes share each
group (process k takes its k-th, (k + W)-th, … relations), their gradients are summed by one all-reduce
(:mod:`relvec.training.distributed`), and only process 0 validates, logs and writes. Every process draws the
whole epoch's samples from the same seeded stream, so W processes give the weights of one process with
``relations_per_step = W`` (up to summation order; exactly so without dropout). After every epoch the
evaluator the trainer is given scores the model and a complete checkpoint is written
(:mod:`relvec.training.checkpoint`); the best epoch by the evaluator's primary metric is kept.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from relvec.data import RelationRecord
from relvec.encoders.prompt import RelationEncoder
from relvec.evaluation.base import Evaluator
from relvec.files import (
    FileFormatError,
    portable_paths,
    read_safetensors,
    refuse_file,
    remove,
    sweep_siblings,
    sweep_temporaries,
    write_json,
    write_text,
)
from relvec.losses import build_loss
from relvec.precision import resolve_precision
from relvec.training.arguments import TrainingArguments
from relvec.training.averaging import accumulate, averaged_epochs
from relvec.training.checkpoint import (
    CHECKPOINT,
    HISTORY_FILE,
    WEIGHTS_FILE,
    best_weights_file,
    finished_run,
    load_extra,
    load_state,
    recover_checkpoint,
    save_checkpoint,
)
from relvec.training.curve import plot_training
from relvec.training.distributed import all_reduce_gradients, all_reduce_sum, barrier, world
from relvec.training.gradient_cache import relation_step
from relvec.training.sampling import prepare_records, sample_epoch
from relvec.version import __version__

LOG_FILE = "train_log.jsonl"
PLOT_FILE = "training_curve.png"
# Arguments newer than some saved runs: absent there = their default.
_ADDED_ARGUMENTS = ("relations_per_step", "reversed_negatives", "select_sets", "average_epochs", "train_splits")


def linear_schedule(warmup: int, total: int) -> Callable[[int], float]:
    """Linear warm-up over ``warmup`` steps, then linear decay to zero at ``total``."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


class Trainer:
    """Fine-tune a :class:`RelationEncoder`; checkpoints atomically after every epoch and can resume."""

    def __init__(
        self,
        model: RelationEncoder,
        args: TrainingArguments,
        train_records: Sequence[RelationRecord],
        evaluator: Evaluator | None = None,
        callbacks: Sequence[Callable[[dict[str, Any]], None]] = (),
        show_progress_bar: bool = True,
        epoch_callbacks: Sequence[Callable[[dict[str, Any]], None]] = (),
    ) -> None:
        """``evaluator``: called with the model after every epoch (and once before training, for
        reference); a callable returning a metrics dict with a ``primary_metric``, such as
        :func:`semeval_valid_evaluator`. Unless ``select_on="last"`` its primary metric selects the epoch;
        its other float metrics are logged beside it."""
        self.model = model
        self.args = args
        self.records = prepare_records(train_records, args)
        self.evaluator = evaluator
        if args.select_on != "last" and evaluator is None:
            raise ValueError(
                f"select_on={args.select_on!r} needs an evaluator (e.g. semeval_valid_evaluator(questions))"
            )
        # the history key of the selection metric, e.g. "semeval_valid_accuracy"
        self.metric = f"{evaluator.name}_{evaluator.primary_metric}" if evaluator is not None else None
        self.callbacks = list(callbacks)
        self.epoch_callbacks = list(epoch_callbacks)
        self.show_progress_bar = show_progress_bar
        self.output_dir = Path(args.output_dir)
        self.precision = resolve_precision(args.precision, model.device)
        self.loss_fn = build_loss(
            args.loss, args.temperature, args.margin, args.distance, args.classification, model.embedding_dim
        ).to(model.device)
        params = [p for p in [*model.parameters(), *self.loss_fn.parameters()] if p.requires_grad]
        self.params = params
        self.optimizer = torch.optim.AdamW(params, lr=args.learning_rate, weight_decay=args.weight_decay)
        self.rank, self.world = world()
        if args.relations_per_step % self.world:
            raise ValueError(
                f"relations_per_step (--relations-per-step) must be a multiple of the {self.world} processes, "
                f"got {args.relations_per_step}"
            )
        self.total_steps = args.epochs * math.ceil(len(self.records) / args.relations_per_step)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, linear_schedule(args.warmup_steps, self.total_steps)
        )
        self.history: list[dict[str, Any]] = []
        self.global_step = 0
        self.best: dict[str, Any] | None = None
        self.baseline: dict[str, Any] = {}
        self.averaged = averaged_epochs(args.epochs, args.average_epochs)
        self.average: dict[str, torch.Tensor] | None = None  # running mean of the averaged epochs' weights

    # -------------------------------------------------------------- public
    def train(self, resume: bool = False) -> RelationEncoder:
        """Run every remaining epoch and return the selected model (also saved to ``output_dir``).

        With ``resume``, a finished run is returned as saved, and an interrupted one continues from its
        newest complete checkpoint; the result equals an uninterrupted run's.
        """
        refuse_file(self.output_dir)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        if resume and (finished := self._already_finished()) is not None:
            return finished
        with torch.random.fork_rng(devices=[]):  # leave the caller's RNG untouched
            torch.manual_seed(self.args.seed)
            start = self._resume_in_turn() if resume else 0
            if start == 0 and self.rank == 0:
                remove(self.output_dir / HISTORY_FILE)  # a new run: the old finish mark no longer holds
                sweep_temporaries(self.output_dir)
                write_text(self.output_dir / LOG_FILE, "")
                self.baseline = self._validate()  # the untrained model, for reference only
            barrier()
            for epoch in range(start, self.args.epochs):
                losses = self._train_epoch(epoch)
                self._end_epoch(epoch, losses)
        return self._finish()

    # -------------------------------------------------------------- epochs and steps
    def _train_epoch(self, epoch: int) -> list[float]:
        """One pass over the relations, ``relations_per_step`` per optimiser step; returns the step losses."""
        self.model.train()
        losses: list[float] = []
        order, samples = sample_epoch(self.records, self.args, epoch)
        size = self.args.relations_per_step
        steps = range(0, len(order), size)
        bar = tqdm(steps, desc=f"epoch {epoch + 1}/{self.args.epochs}", disable=not self.show_progress_bar or self.rank)
        started = time.perf_counter()
        with contextlib.ExitStack() as stack:
            log = (
                stack.enter_context((self.output_dir / LOG_FILE).open("a", encoding="utf-8"))
                if self.rank == 0
                else None
            )
            for start in bar:
                group = list(range(start, min(start + size, len(order))))
                loss = self._group_step(epoch, group, order, samples)
                lr = self.scheduler.get_last_lr()[0]
                self.optimizer.step()
                self.scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
                self.global_step += 1
                names = [self.records[int(order[p])].relation_type for p in group]
                entry = {
                    "epoch": epoch + 1,
                    "step": start // size + 1,
                    "global_step": self.global_step,
                    "relation": ",".join(names),
                    "loss": loss,
                    "lr": lr,
                    "elapsed_s": round(time.perf_counter() - started, 3),
                }
                losses.append(loss)
                if log is not None:
                    log.write(json.dumps(entry) + "\n")
                    log.flush()
                bar.set_postfix(loss=f"{loss:.3f}")
                for callback in self.callbacks:
                    callback(entry)
        return losses

    def _group_step(self, epoch: int, group: list[int], order: np.ndarray, samples: list) -> float:
        """This process's share of one group's relations into ``.grad`` (summed over processes); the group's
        mean loss."""
        total = 0.0
        for position in group[self.rank :: self.world]:
            pos, neg = samples[position]
            loss = relation_step(
                self.model, self.loss_fn, pos, neg, self.args.chunk_size, self.precision, scale=1.0 / len(group)
            )
            if not math.isfinite(loss):
                record = self.records[int(order[position])]
                raise FloatingPointError(f"loss became {loss} at epoch {epoch + 1}, relation {record.relation_type}")
            total += loss
        all_reduce_gradients(self.params)
        return all_reduce_sum([total])[0] / len(group)

    def _end_epoch(self, epoch: int, losses: list[float]) -> None:
        if self.rank != 0:  # process 0 validates, selects and writes; the others wait for it
            barrier()
            return
        metrics = self._validate()
        record = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)) if losses else None, **metrics}
        self.history.append(record)
        score = metrics.get(self.metric) if self.args.select_on != "last" and self.metric else epoch
        if self.best is None or (score is not None and score > self.best["score"]):
            self.best = {"epoch": epoch + 1, "score": score}
        if epoch + 1 in self.averaged:
            self.average = accumulate(self.average, self.model.state_dict(), self.averaged.index(epoch + 1) + 1)
        self._save_checkpoint(epoch)
        for callback in self.epoch_callbacks:
            callback({**record, "best_epoch": self.best["epoch"], "baseline": self.baseline, "metric": self.metric})
        barrier()

    def _validate(self) -> dict[str, Any]:
        if self.evaluator is None or self.metric is None:
            return {}
        metrics = self.evaluator(self.model)
        primary = metrics.get("primary_metric", self.evaluator.primary_metric)
        others = {
            f"{self.evaluator.name}_{key}": value
            for key, value in metrics.items()
            if key != primary and isinstance(value, float)
        }
        return {self.metric: float(metrics[primary]), **others}

    # -------------------------------------------------------------- checkpoints
    def _save_checkpoint(self, epoch: int) -> None:
        """One complete folder per epoch: weights, the selected epoch's weights, optimiser state (no pickle)."""
        weights = {k: v.detach().contiguous().cpu() for k, v in self.model.state_dict().items()}
        extra = {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "loss_fn": self.loss_fn.state_dict(),
            "torch_rng": torch.get_rng_state(),
            **({"average": self.average} if self.average is not None else {}),
        }
        state = {
            "epoch": epoch + 1,
            "global_step": self.global_step,
            "history": self.history,
            "best": self.best,
            "baseline": self.baseline,
            "args": self.args.to_dict(),
            "relvec_version": __version__,
        }
        save_checkpoint(self.output_dir, weights, extra, state)

    def _check_arguments(self, saved: dict[str, Any], where: Path) -> None:
        current = {k: v for k, v in self.args.to_dict().items() if k != "output_dir"}
        # keys this version's TrainingArguments lacks (older runs kept the hybrid settings here) do not count;
        # keys older runs lack had their default then
        defaults = {f.name: f.default for f in dataclasses.fields(TrainingArguments) if f.name in _ADDED_ARGUMENTS}
        saved_args = {**defaults, **{k: v for k, v in saved.items() if k in current}}
        if saved_args != current:
            changed = sorted(k for k in current if saved_args.get(k) != current[k])
            raise ValueError(f"cannot resume {where}: arguments differ from the checkpoint ({', '.join(changed)})")

    def _resume_in_turn(self) -> int:
        """Process 0 recovers the checkpoint first (it may tidy the folder); then the others read it."""
        if self.rank != 0:
            barrier()
        start = self._resume()
        if self.rank == 0:
            barrier()
        return start

    def _resume(self) -> int:
        """Restore the newest complete checkpoint (after sweeping a killed run's leftovers); its epoch count."""
        found = recover_checkpoint(self.output_dir)
        if found is None:
            warnings.warn(f"no complete checkpoint in {self.output_dir}; training from the start", stacklevel=3)
            return 0
        folder, state = found
        self._check_arguments(state["args"], folder)
        self.model.load_state_dict(read_safetensors(folder / WEIGHTS_FILE))
        extra = load_extra(folder, state)
        self.optimizer.load_state_dict(extra["optimizer"])
        self.scheduler.load_state_dict(extra["scheduler"])
        self.loss_fn.load_state_dict(extra["loss_fn"])
        torch.set_rng_state(extra["torch_rng"])
        self.average = extra.get("average")
        self.global_step = state["global_step"]
        self.history = state["history"]
        self.best = state["best"]
        self.baseline = state.get("baseline", {})
        # Drop log lines of the interrupted epoch so the log matches the restored state.
        kept = [e for e in self._read_log() if e["global_step"] <= self.global_step]
        write_text(self.output_dir / LOG_FILE, "".join(json.dumps(e) + "\n" for e in kept))
        return int(state["epoch"])

    def _read_log(self) -> list[dict[str, Any]]:
        """The step log; a line cut short by a kill is skipped."""
        path = self.output_dir / LOG_FILE
        if not path.is_file():
            return []
        entries = []
        for line in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                entry = json.loads(line)
                if isinstance(entry, dict) and "global_step" in entry:
                    entries.append(entry)
        return entries

    # -------------------------------------------------------------- end of training
    def _finish(self) -> RelationEncoder:
        """Write the selected model, then ``history.json`` (the mark of a finished run), then drop the
        checkpoint. Until the mark exists the checkpoint holds everything, so a kill here is redone."""
        if self.rank != 0:  # process 0 writes the model; the others wait and return their copy
            barrier()
            return self.model
        folder = self.output_dir / CHECKPOINT
        state = load_state(folder)
        if state is None:
            raise FileFormatError(f"{folder}: the checkpoint of the last epoch is incomplete")
        metadata = {
            "arguments": portable_paths(self.args.to_dict()),
            "best_epoch": self.best["epoch"] if self.best else None,
            "baseline": self.baseline,
            "history": self.history,
            "relations": len(self.records),
        }
        if self.average is not None:  # the mean of the last epochs replaces the selected epoch
            self.model.load_state_dict(self.average)
            metadata["best_epoch"] = None
            metadata["average"] = {"epochs": self.averaged, **self._validate()}
        elif (best := best_weights_file(folder, state)).name != WEIGHTS_FILE:
            self.model.load_state_dict(read_safetensors(best))
        self.model.save_pretrained(self.output_dir, training=metadata)
        plot_training(self._read_log(), self.history, self.output_dir / PLOT_FILE, self.baseline, self.metric)
        write_json(self.output_dir / HISTORY_FILE, {**metadata, "complete": True})
        self._clean_up()
        barrier()
        return self.model

    def _clean_up(self) -> None:
        if not self.args.keep_checkpoint:
            remove(self.output_dir / CHECKPOINT)
        sweep_temporaries(self.output_dir)
        sweep_siblings(self.output_dir)  # a killed final save stages beside the folder

    def _already_finished(self) -> RelationEncoder | None:
        """For ``resume``: the saved model of a run that finished (leftovers removed), else None."""
        done = finished_run(self.output_dir)
        if done is None:
            return None
        self._check_arguments(done.get("arguments", {}), self.output_dir / HISTORY_FILE)
        self._clean_up()
        saved = RelationEncoder.from_pretrained(self.output_dir, device=self.model.device)
        self.model.load_state_dict(saved.state_dict())
        self.model.config = saved.config
        self.history = done.get("history", [])
        return self.model
