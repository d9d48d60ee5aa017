"""Contrastive fine-tuning of a relation encoder on relation-similarity data (RelBERT, Sec. 3.2).

One optimiser step per relation. Embeddings of a step are computed with the gradient-cache
technique (Gao et al., 2021) when they do not fit in one chunk: embed every chunk without a
graph, take the loss gradient w.r.t. the embeddings, then re-encode chunk by chunk with a graph
(replaying each chunk's dropout RNG state) and back-propagate the cached gradient. Peak memory
then depends on ``chunk_size``, not on ``num_negative``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import random
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from relvec import __version__
from relvec.backbones import DEFAULT_BACKBONE
from relvec.checkpoint import (
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
from relvec.config import DEFAULT_MAX_LENGTH, DEFAULT_POOLING, POOLING_MODES
from relvec.data import (
    AnalogyQuestion,
    RelationRecord,
    augment_negatives,
    exclude_relations,
    group_by_parent,
    load_relation_similarity,
)
from relvec.files import (
    FileFormatError,
    read_json,
    remove,
    short_repr,
    sweep_temporaries,
    write_file,
    write_json,
    write_text,
)
from relvec.hybrid import DEFAULT_SELECT_ON, DEFAULT_WEIGHTS, parse_weights, read_hybrid_config
from relvec.losses import LOSSES, RelationLoss, build_loss
from relvec.model import PromptFeatures, RelationEncoder
from relvec.precision import PRECISIONS, autocast, resolve_precision
from relvec.prompts import resolve_template
from relvec.validation import TRAINING_RANGES, check_ranges

LOG_FILE = "train_log.jsonl"
PLOT_FILE = "training_curve.png"
SELECT_ON = ("semeval_valid", "last")

PRESETS: dict[str, dict[str, Any]] = {
    # The journal recipe of the released RelBERT models (model card: NCE, τ 0.05, 10 pos / 400 neg).
    "paper": {
        "loss": "nce",
        "temperature": 0.05,
        "num_positive": 10,
        "num_negative": 400,
        "learning_rate": 5e-6,
        "epochs": 10,
        "warmup_steps": 10,
        "weight_decay": 0.0,
    },
    # CPU recipe for MiniLM (see README "Training" for the validation runs behind it).
    "quick": {
        "loss": "nce",
        "temperature": 0.05,
        "num_positive": 10,
        "num_negative": 64,
        "learning_rate": 5e-5,
        "epochs": 4,
        "warmup_steps": 10,
        "weight_decay": 0.0,
        "chunk_size": 128,
    },
    # The quality recipe for a 2-core CPU (RESULTS.md): MPNet + NCE, then a hybrid of the bidirectional
    # prompt embedding with the offsets of untuned MPNet's own word vectors, weight chosen on analogy valid splits.
    "best-cpu": {
        "backbone": "mpnet",
        "loss": "nce",
        "temperature": 0.05,
        "num_positive": 10,
        "num_negative": 64,
        "learning_rate": 2e-5,
        "epochs": 3,
        "warmup_steps": 10,
        "weight_decay": 0.0,
        "chunk_size": 128,
        "hybrid_vectors": "encoder:mpnet",
        "hybrid_bidirectional": True,
    },
}


@dataclass
class TrainingArguments:
    """Everything a training run needs; JSON/YAML-serialisable, validated on construction."""

    backbone: str = DEFAULT_BACKBONE
    template: str | None = None  # None: the backbone folder's own template (a learned prompt stays), else d
    pooling: str = DEFAULT_POOLING
    max_length: int = DEFAULT_MAX_LENGTH
    data: str = "semeval2012"
    data_dir: str | None = None
    output_dir: str = "runs/relvec"
    loss: str = "nce"
    temperature: float = 0.05
    margin: float = 1.0
    distance: str = "euclidean"
    classification: bool = False
    num_positive: int = 10
    num_negative: int = 400
    augment_negatives: bool = True
    parent_relations: bool = False
    exclude_relations: list[str] = field(default_factory=list)
    epochs: int = 10
    learning_rate: float = 5e-6
    warmup_steps: int = 10
    weight_decay: float = 0.0
    chunk_size: int = 64
    seed: int = 0
    precision: str = "auto"
    select_on: str = "semeval_valid"
    validation_questions_per_relation: int = 5
    keep_checkpoint: bool = False
    # After training: join the model with static offsets ("glove-6b-50d", "encoder:mpnet") into <output_dir>/hybrid,
    # the weight chosen on the analogy *valid* splits of hybrid_select_on (see relvec.hybrid).
    hybrid_vectors: str | None = None
    hybrid_weights: str = DEFAULT_WEIGHTS
    hybrid_select_on: str = DEFAULT_SELECT_ON
    hybrid_bidirectional: bool = False  # the hybrid's prompt part as [p(a,b); p(b,a)]/√2 (see relvec.hybrid)
    preset: str | None = None

    def __post_init__(self) -> None:
        if self.template is not None:
            resolve_template(self.template)
        _choice("pooling", self.pooling, POOLING_MODES)
        _choice("loss", self.loss, LOSSES)
        _choice("distance", self.distance, ("euclidean", "cosine"))
        _choice("precision", self.precision, PRECISIONS)
        _choice("select_on", self.select_on, SELECT_ON)
        if self.preset is not None:
            _choice("preset", self.preset, tuple(PRESETS))
        for f in dataclasses.fields(self):
            if f.type in ("bool", bool) and not isinstance(getattr(self, f.name), bool):
                raise ValueError(f"{f.name} must be true or false, got {short_repr(getattr(self, f.name))}")
        check_ranges(self, TRAINING_RANGES)
        weights = parse_weights(self.hybrid_weights)
        if not weights:
            raise ValueError("hybrid_weights must list at least one weight")
        if not self.hybrid_select_on.strip():
            raise ValueError("hybrid_select_on must name at least one analogy set")
        if isinstance(self.exclude_relations, str):
            self.exclude_relations = [s for s in self.exclude_relations.split(",") if s]
        if not all(isinstance(s, str) for s in self.exclude_relations):
            raise ValueError(f"exclude_relations must be a list of names, got {self.exclude_relations!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingArguments:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown training arguments: {', '.join(unknown)}")
        return cls(**data)

    @classmethod
    def from_preset(cls, preset: str, **overrides: Any) -> TrainingArguments:
        _choice("preset", preset, tuple(PRESETS))
        return cls.from_dict({**PRESETS[preset], "preset": preset, **overrides})

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> TrainingArguments:
        """Read JSON or YAML (by extension); a ``preset`` key there is expanded first."""
        path = Path(path)
        if path.suffix in (".yaml", ".yml"):
            import yaml

            try:
                data = yaml.safe_load(path.read_bytes().decode("utf-8-sig")) or {}
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
                raise ValueError(f"{path}: cannot read the YAML config ({short_repr(str(exc), 200)})") from None
        else:
            data = read_json(path)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping of training arguments")
        preset = overrides.get("preset") or data.get("preset")
        base = PRESETS.get(preset, {}) if preset else {}
        try:
            return cls.from_dict({**base, **data, **overrides})
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: {exc}") from exc


def _choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


# ---------------------------------------------------------------------------- data preparation
def prepare_records(records: Sequence[RelationRecord], args: TrainingArguments) -> list[RelationRecord]:
    """Apply exclusion, parent grouping and negative augmentation, in that order."""
    out = exclude_relations(records, args.exclude_relations)
    if args.parent_relations:
        out = group_by_parent(out)
    if args.augment_negatives:
        out = augment_negatives(out)
    usable = [r for r in out if len(r.positives) >= 2 and r.negatives]
    if not usable:
        raise ValueError("no relation has at least two positives and one negative after filtering")
    return usable


def validation_questions(
    records: Sequence[RelationRecord], per_relation: int = 5, num_choices: int = 5, seed: int = 0
) -> list[AnalogyQuestion]:
    """Analogy questions built from held-out relation pairs (the SemEval ``valid`` split).

    Stem and answer are two positives of one relation; the distractors are positives of
    relations with a different parent. No analogy test data is involved.
    """
    rng = random.Random(seed)
    questions = []
    for record in records:
        positives = list(dict.fromkeys(record.positives))
        others = [p for r in records if r.parent != record.parent for p in r.positives if p not in positives]
        if len(positives) < 2 or len(others) < num_choices - 1:
            continue
        for i in range(min(per_relation, len(positives))):
            stem, answer_pair = positives[i], positives[(i + 1) % len(positives)]
            choices = [answer_pair, *rng.sample(others, num_choices - 1)]
            rng.shuffle(choices)
            questions.append(AnalogyQuestion(stem, tuple(choices), choices.index(answer_pair), record.relation_type))
    return questions


def sample_relation(
    record: RelationRecord, num_positive: int, num_negative: int, rng: np.random.Generator
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Up to ``num_positive`` positives and ``num_negative`` negatives, sampled without replacement."""
    pos = [record.positives[i] for i in sorted(rng.permutation(len(record.positives))[:num_positive])]
    neg = [record.negatives[i] for i in sorted(rng.permutation(len(record.negatives))[:num_negative])]
    return pos, neg


# ---------------------------------------------------------------------------- gradient cache
@contextlib.contextmanager
def _replay_rng(state: torch.Tensor) -> Iterator[None]:
    with torch.random.fork_rng(devices=[]):
        torch.set_rng_state(state)
        yield


def _chunks_by_length(features: Sequence[PromptFeatures], size: int) -> list[list[int]]:
    order = sorted(range(len(features)), key=lambda i: -len(features[i].input_ids))
    return [order[i : i + size] for i in range(0, len(order), size)]


def relation_step(
    model: RelationEncoder,
    loss_fn: RelationLoss,
    positives: Sequence[tuple[str, str]],
    negatives: Sequence[tuple[str, str]],
    chunk_size: int,
    precision: str = "fp32",
) -> float:
    """Accumulate into ``.grad`` the gradient of one relation's loss; return the loss value.

    Up to ``chunk_size`` prompts are embedded in one pass with a graph; more use the gradient cache.
    """
    features = model.tokenize([*positives, *negatives])
    n_pos = len(positives)
    device = model.device
    if len(features) <= chunk_size:
        with autocast(precision, device):
            embeddings = model(model.collate(features)).float()
        loss = loss_fn(embeddings[:n_pos], embeddings[n_pos:])
        loss.backward()
        return float(loss.detach())
    chunks = _chunks_by_length(features, chunk_size)
    cached = torch.empty((len(features), model.embedding_dim), dtype=torch.float32, device=device)
    states = []
    with torch.no_grad(), autocast(precision, device):
        for idx in chunks:
            states.append(torch.get_rng_state())
            cached[idx] = model(model.collate([features[i] for i in idx])).float()
    cached.requires_grad_(True)
    loss = loss_fn(cached[:n_pos], cached[n_pos:])
    loss.backward()  # d loss / d embeddings (and the loss module's own parameters)
    grad = cached.grad
    assert grad is not None  # set by backward above
    for idx, state in zip(chunks, states, strict=True):
        with _replay_rng(state), autocast(precision, device):
            out = model(model.collate([features[i] for i in idx])).float()
        out.backward(grad[idx])
    return float(loss.detach())


# ---------------------------------------------------------------------------- trainer
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
        valid_questions: Sequence[AnalogyQuestion] | None = None,
        callbacks: Sequence[Callable[[dict[str, Any]], None]] = (),
        show_progress_bar: bool = True,
        epoch_callbacks: Sequence[Callable[[dict[str, Any]], None]] = (),
    ) -> None:
        self.model = model
        self.args = args
        self.records = prepare_records(train_records, args)
        self.valid_questions = list(valid_questions or [])
        if args.select_on == "semeval_valid" and not self.valid_questions:
            raise ValueError("select_on='semeval_valid' needs validation questions")
        self.callbacks = list(callbacks)
        self.epoch_callbacks = list(epoch_callbacks)
        self.show_progress_bar = show_progress_bar
        self.output_dir = Path(args.output_dir)
        self.precision = resolve_precision(args.precision, model.device)
        self.loss_fn = build_loss(
            args.loss, args.temperature, args.margin, args.distance, args.classification, model.embedding_dim
        ).to(model.device)
        params = [p for p in [*model.parameters(), *self.loss_fn.parameters()] if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=args.learning_rate, weight_decay=args.weight_decay)
        self.total_steps = args.epochs * len(self.records)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, linear_schedule(args.warmup_steps, self.total_steps)
        )
        self.history: list[dict[str, Any]] = []
        self.global_step = 0
        self.best: dict[str, Any] | None = None
        self.baseline: dict[str, Any] = {}

    # -------------------------------------------------------------- public
    def train(self, resume: bool = False) -> RelationEncoder:
        """Run every remaining epoch and return the selected model (also saved to ``output_dir``).

        With ``resume``, a finished run is returned as saved, and an interrupted one continues from its
        newest complete checkpoint; the result equals an uninterrupted run's.
        """
        self.output_dir.mkdir(parents=True, exist_ok=True)
        if resume and (finished := self._already_finished()) is not None:
            return finished
        with torch.random.fork_rng(devices=[]):  # leave the caller's RNG untouched
            torch.manual_seed(self.args.seed)
            start = self._resume() if resume else 0
            if start == 0:
                remove(self.output_dir / HISTORY_FILE)  # a new run: the old finish mark no longer holds
                sweep_temporaries(self.output_dir)
                write_text(self.output_dir / LOG_FILE, "")
                self.baseline = self._validate()  # the untrained model, for reference only
            for epoch in range(start, self.args.epochs):
                losses = self._train_epoch(epoch)
                self._end_epoch(epoch, losses)
        return self._finish()

    # -------------------------------------------------------------- epochs and steps
    def _train_epoch(self, epoch: int) -> list[float]:
        """One pass over the relations; returns the step losses."""
        self.model.train()
        losses: list[float] = []
        rng = np.random.default_rng([self.args.seed, epoch])
        order = rng.permutation(len(self.records))
        bar = tqdm(order, desc=f"epoch {epoch + 1}/{self.args.epochs}", disable=not self.show_progress_bar)
        started = time.perf_counter()
        with (self.output_dir / LOG_FILE).open("a", encoding="utf-8") as log:
            for position, index in enumerate(bar):
                record = self.records[int(index)]
                pos, neg = sample_relation(record, self.args.num_positive, self.args.num_negative, rng)
                loss = relation_step(self.model, self.loss_fn, pos, neg, self.args.chunk_size, self.precision)
                if not math.isfinite(loss):
                    raise FloatingPointError(
                        f"loss became {loss} at epoch {epoch + 1}, relation {record.relation_type}"
                    )
                lr = self.scheduler.get_last_lr()[0]
                self.optimizer.step()
                self.scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
                self.global_step += 1
                entry = {
                    "epoch": epoch + 1,
                    "step": position + 1,
                    "global_step": self.global_step,
                    "relation": record.relation_type,
                    "loss": loss,
                    "lr": lr,
                    "elapsed_s": round(time.perf_counter() - started, 3),
                }
                losses.append(loss)
                log.write(json.dumps(entry) + "\n")
                log.flush()
                bar.set_postfix(loss=f"{loss:.3f}")
                for callback in self.callbacks:
                    callback(entry)
        return losses

    def _end_epoch(self, epoch: int, losses: list[float]) -> None:
        metrics = self._validate()
        record = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)) if losses else None, **metrics}
        self.history.append(record)
        score = metrics.get("semeval_valid_accuracy") if self.args.select_on == "semeval_valid" else epoch
        if self.best is None or (score is not None and score > self.best["score"]):
            self.best = {"epoch": epoch + 1, "score": score}
        self._save_checkpoint(epoch)
        for callback in self.epoch_callbacks:
            callback({**record, "best_epoch": self.best["epoch"], "baseline": self.baseline})

    def _validate(self) -> dict[str, Any]:
        if not self.valid_questions:
            return {}
        from relvec.evaluation import AnalogyEvaluator

        evaluator = AnalogyEvaluator(
            self.valid_questions,
            name="semeval_valid",
            batch_size=self.args.chunk_size,
            show_progress_bar=None if self.show_progress_bar else False,
        )
        return {"semeval_valid_accuracy": evaluator(self.model)["accuracy"]}

    # -------------------------------------------------------------- checkpoints
    def _save_checkpoint(self, epoch: int) -> None:
        """One complete folder per epoch: weights, the selected epoch's weights, optimiser state (no pickle)."""
        weights = {k: v.detach().contiguous().cpu() for k, v in self.model.state_dict().items()}
        extra = {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "loss_fn": self.loss_fn.state_dict(),
            "torch_rng": torch.get_rng_state(),
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
        saved_args = {k: v for k, v in saved.items() if k != "output_dir"}
        current = {k: v for k, v in self.args.to_dict().items() if k != "output_dir"}
        if saved_args != current:
            changed = sorted(k for k in current if saved_args.get(k) != current[k])
            raise ValueError(f"cannot resume {where}: arguments differ from the checkpoint ({', '.join(changed)})")

    def _resume(self) -> int:
        """Restore the newest complete checkpoint (after sweeping a killed run's leftovers); its epoch count."""
        found = recover_checkpoint(self.output_dir)
        if found is None:
            warnings.warn(f"no complete checkpoint in {self.output_dir}; training from the start", stacklevel=3)
            return 0
        folder, state = found
        from safetensors.torch import load_file

        self._check_arguments(state["args"], folder)
        self.model.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
        extra = load_extra(folder, state)
        self.optimizer.load_state_dict(extra["optimizer"])
        self.scheduler.load_state_dict(extra["scheduler"])
        self.loss_fn.load_state_dict(extra["loss_fn"])
        torch.set_rng_state(extra["torch_rng"])
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
        folder = self.output_dir / CHECKPOINT
        state = load_state(folder)
        if state is None:
            raise FileFormatError(f"{folder}: the checkpoint of the last epoch is incomplete")
        best = best_weights_file(folder, state)
        if best.name != WEIGHTS_FILE:
            from safetensors.torch import load_file

            self.model.load_state_dict(load_file(str(best)))
        metadata = {
            "arguments": self.args.to_dict(),
            "best_epoch": self.best["epoch"] if self.best else None,
            "baseline": self.baseline,
            "history": self.history,
            "relations": len(self.records),
        }
        self.model.save_pretrained(self.output_dir, training=metadata)
        plot_training(self._read_log(), self.history, self.output_dir / PLOT_FILE, self.baseline)
        write_json(self.output_dir / HISTORY_FILE, {**metadata, "complete": True})
        self._clean_up()
        return self.model

    def _clean_up(self) -> None:
        if not self.args.keep_checkpoint:
            remove(self.output_dir / CHECKPOINT)
        sweep_temporaries(self.output_dir)

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


def plot_training(
    steps: Sequence[dict[str, Any]],
    history: Sequence[dict[str, Any]],
    path: Path,
    baseline: dict[str, Any] | None = None,
) -> None:
    """A PNG with the per-step loss (and per-epoch mean) and the validation accuracy per epoch."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(10, 4))
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2)
    left.plot([s["global_step"] for s in steps], [s["loss"] for s in steps], lw=0.6, alpha=0.6, label="step")
    per_epoch = max((len(steps) // max(1, len(history))), 1)
    left.plot(
        [h["epoch"] * per_epoch for h in history],
        [h["train_loss"] for h in history],
        "o-",
        label="epoch mean",
    )
    left.set(xlabel="optimiser step", ylabel="training loss", title="training loss")
    left.legend()
    accuracy = [h.get("semeval_valid_accuracy") for h in history]
    if any(a is not None for a in accuracy):
        right.plot([h["epoch"] for h in history], [100 * (a or 0) for a in accuracy], "o-", label="fine-tuned")
    if baseline and baseline.get("semeval_valid_accuracy") is not None:
        right.plot([0], [100 * baseline["semeval_valid_accuracy"]], "s", color="gray", label="untuned")
        right.legend()
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.set(xlabel="epoch", ylabel="accuracy (%)", title="SemEval-valid analogy accuracy")
    figure.tight_layout()
    write_file(path, lambda p: figure.savefig(p, dpi=100, format="png"))


# ---------------------------------------------------------------------------- entry points
def train(args: TrainingArguments, resume: bool = False, **trainer_kwargs: Any) -> RelationEncoder:
    """Load backbone and data from ``args`` and train; returns the selected model."""
    model = RelationEncoder.from_pretrained(
        args.backbone, template=args.template, pooling=args.pooling, max_length=args.max_length
    )
    if model.prompt_encoder is not None:  # a P-tuning prompt found earlier stays as it is
        model.prompt_encoder.requires_grad_(False)
    records = load_relation_similarity(args.data, "train", args.data_dir)
    questions: list[AnalogyQuestion] = []
    if args.select_on == "semeval_valid":
        valid = load_relation_similarity(args.data, "valid", args.data_dir)
        if args.parent_relations:
            valid = group_by_parent(valid)
        questions = validation_questions(valid, args.validation_questions_per_relation, seed=args.seed)
    trainer = Trainer(model, args, records, questions, **trainer_kwargs)
    model = trainer.train(resume=resume)
    hybrid_done = resume and read_hybrid_config(Path(args.output_dir) / "hybrid") is not None
    if args.hybrid_vectors and not hybrid_done:  # its side file is written last: present means complete
        build_hybrid(model, args, show_progress_bar=None if trainer.show_progress_bar else False)
    return model


def build_hybrid(model: RelationEncoder, args: TrainingArguments, show_progress_bar: bool | None = None) -> Path:
    """Select the offset weight on validation splits and save ``<output_dir>/hybrid`` (sharing the model)."""
    from relvec.hybrid import build_selected_hybrid

    if not args.hybrid_vectors:
        raise ValueError("build_hybrid needs hybrid_vectors (e.g. 'glove-6b-50d')")
    names = [n.strip() for n in args.hybrid_select_on.split(",") if n.strip()]
    target = Path(args.output_dir) / "hybrid"
    weights = parse_weights(args.hybrid_weights)
    build_selected_hybrid(
        model,
        args.hybrid_vectors,
        weights,
        names,
        target,
        args.data_dir,
        prompt_path="..",
        show_progress_bar=show_progress_bar,
        bidirectional=args.hybrid_bidirectional,
    )
    return target
