"""Compositions of the floors below: train, then choose a hybrid's weight on validation splits, then save.

``relvec train`` runs :func:`train_recipe` with :class:`RecipeArguments` (the training arguments plus
the hybrid step's settings); ``--preset best-cpu`` is a recipe preset. ``relvec hybrid`` runs
:func:`build_selected_hybrid` on any saved model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from relvec.config import CONFIG_NAME
from relvec.data import (
    ANALOGY_VALID_SETS,
    SEMEVAL_VALID_DATASET,
    RelationRecord,
    group_by_parent,
    load_relation_similarity,
    merge_splits,
    validation_questions,
)
from relvec.encoders.hybrid import HybridEncoder, read_hybrid_config
from relvec.encoders.offset import OffsetEncoder
from relvec.encoders.prompt import RelationEncoder
from relvec.evaluation.analogy import AnalogyEvaluator, semeval_valid_evaluator
from relvec.evaluation.base import Evaluator
from relvec.evaluation.cache import EmbeddingCache
from relvec.evaluation.suite import analogy_evaluator, analogy_valid_evaluator
from relvec.files import read_json, write_json
from relvec.training import PRESETS, Trainer, TrainingArguments
from relvec.training.arguments import includes_valid
from relvec.training.distributed import world
from relvec.validation import option, split_list

# Defaults for choosing the weight. The SemEval-valid questions are left out on purpose: their relations
# are the training relations, so they reward the fine-tuned prompt part and push the weight down.
DEFAULT_WEIGHTS = "0,0.25,0.5,0.75,1,1.5,2,3,inf"
DEFAULT_SELECT_ON = ",".join(ANALOGY_VALID_SETS)
HYBRID_DIR = "hybrid"

RECIPE_PRESETS: dict[str, dict[str, Any]] = {
    **PRESETS,
    # The quality recipe for a 2-core CPU (RESULTS.md): MPNet + NCE for 15 epochs with mask pooling on the
    # positives of SemEval's train and valid splits (882 more, so epochs pick from ~21 per relation), 20 positives
    # and 64 negatives per step (up to 380 anchor-positive terms instead of 90), saving the
    # mean of the weights of the last 5 epochs (every epoch and the mean validated on the analogy valid splits),
    # then a hybrid of the bidirectional prompt embedding with the offsets of untuned MPNet's own word vectors at
    # weight 0.5. The weight is fixed: the valid curve is flat near its top, and split-half cross-validation on the
    # valid splits of five runs scored an arg-max per run 0.8-1.5 points under a fixed 0.5 (the valid figure of the
    # single candidate is still measured and saved).
    "best-cpu": {
        "backbone": "mpnet",
        "pooling": "mask",
        "loss": "nce",
        "temperature": 0.05,
        "num_positive": 20,
        "num_negative": 64,
        "learning_rate": 2e-5,
        "epochs": 15,
        "average_epochs": 5,
        "select_on": "analogy_valid",
        "train_splits": "train,valid",
        "warmup_steps": 10,
        "weight_decay": 0.0,
        "chunk_size": 128,
        "hybrid_vectors": "encoder:mpnet",
        "hybrid_bidirectional": True,
        "hybrid_weights": "0.5",
    },
}


# ---------------------------------------------------------------------------- training with the default evaluator
def default_evaluator(args: TrainingArguments, show_progress_bar: bool | None = None) -> Evaluator:
    """The epoch selector ``args.select_on`` names (see :func:`train`)."""
    if args.select_on != "analogy_valid":
        return _semeval_valid(args, show_progress_bar)
    kw = {"batch_size": args.chunk_size, "show_progress_bar": show_progress_bar}
    # Trained on, the SemEval-valid questions would be in-sample: not built or reported then.
    report = [] if args.trains_on_valid else [_semeval_valid(args, show_progress_bar)]
    return analogy_valid_evaluator(split_list(args.select_sets), args.data_dir, report_only=report, **kw)


def _semeval_valid(args: TrainingArguments, show_progress_bar: bool | None) -> AnalogyEvaluator:
    """Analogy questions built from the data's ``valid`` split (parent-grouped with ``parent_relations``)."""
    valid = load_relation_similarity(args.data, "valid", args.data_dir)
    if args.parent_relations:
        valid = group_by_parent(valid)
    questions = validation_questions(valid, args.validation_questions_per_relation, seed=args.seed)
    if not questions:
        n = args.validation_questions_per_relation
        raise ValueError(
            f"validation_questions_per_relation (--validation-questions-per-relation) is {n}: no SemEval-valid "
            "questions to evaluate; give at least 1"
        )
    return semeval_valid_evaluator(questions, args.chunk_size, show_progress_bar)


def training_records(args: TrainingArguments) -> list[RelationRecord]:
    """The relation records of ``args.train_splits``, one record per relation (see :func:`merge_splits`)."""
    splits = split_list(args.train_splits)
    if splits == ["train"]:
        return load_relation_similarity(args.data, "train", args.data_dir)
    return merge_splits([load_relation_similarity(args.data, s, args.data_dir) for s in splits])


def train(
    args: TrainingArguments,
    resume: bool = False,
    evaluator: Evaluator | None = None,
    show_progress_bar: bool = True,
    **trainer_kwargs: Any,
) -> RelationEncoder:
    """Load backbone and data from ``args`` and train; returns the selected model.

    Without an ``evaluator``, ``select_on="semeval_valid"`` selects epochs on analogy questions built from
    the data's ``valid`` split; ``"analogy_valid"`` on the mean accuracy over the valid splits of
    ``select_sets``, with the SemEval-valid accuracy logged beside it.
    """
    model = RelationEncoder.from_pretrained(
        args.backbone, template=args.template, pooling=args.pooling, max_length=args.max_length
    )
    if model.prompt_encoder is not None:  # a P-tuning prompt found earlier stays as it is
        model.prompt_encoder.requires_grad_(False)
    records = training_records(args)
    if evaluator is None and args.select_on != "last":
        evaluator = default_evaluator(args, None if show_progress_bar else False)
    trainer = Trainer(model, args, records, evaluator, show_progress_bar=show_progress_bar, **trainer_kwargs)
    return trainer.train(resume=resume)


@dataclass
class RecipeArguments(TrainingArguments):
    """Training arguments plus what follows training: the hybrid step (off unless ``hybrid_vectors``)."""

    presets: ClassVar[dict[str, dict[str, Any]]] = RECIPE_PRESETS

    hybrid_vectors: str | None = option(
        None,
        help="after training, join the model with these offsets into <output>/hybrid: glove-6b-50d, "
        "encoder:BACKBONE or a static-offset folder",
    )
    hybrid_weights: str = option(DEFAULT_WEIGHTS, help="candidate hybrid weights (comma list; inf: offsets only)")
    hybrid_select_on: str = option(DEFAULT_SELECT_ON, help="analogy sets whose *valid* split chooses the weight")
    hybrid_bidirectional: bool = option(False, help="the hybrid's prompt part as [p(a,b); p(b,a)]/√2")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not parse_weights(self.hybrid_weights):
            raise ValueError("hybrid_weights must list at least one weight")
        if not self.hybrid_select_on.strip():
            raise ValueError("hybrid_select_on must name at least one analogy set")
        if self.trains_on_valid and SEMEVAL_VALID_DATASET in split_list(self.hybrid_select_on):
            raise ValueError(
                f"hybrid_select_on (--hybrid-select-on) cannot include {SEMEVAL_VALID_DATASET} when train_splits "
                "(--train-splits) includes valid: its questions come from that split"
            )

    def training_arguments(self) -> TrainingArguments:
        """The training part alone (what the trainer and its checkpoints see)."""
        data = {k: v for k, v in self.to_dict().items() if not k.startswith("hybrid_")}
        if data.get("preset") not in PRESETS:
            data["preset"] = None  # a recipe preset (its training values are already in place)
        return TrainingArguments.from_dict(data)


def train_recipe(args: RecipeArguments, resume: bool = False, **train_kwargs: Any) -> RelationEncoder:
    """Train (:func:`relvec.training.train`), then build ``<output_dir>/hybrid`` when ``hybrid_vectors`` is set.

    With ``resume`` a hybrid whose side file exists (it is written last) is kept as it is.
    """
    model = train(args.training_arguments(), resume=resume, **train_kwargs)
    hybrid_done = resume and read_hybrid_config(Path(args.output_dir) / HYBRID_DIR) is not None
    if args.hybrid_vectors and not hybrid_done and world()[0] == 0:  # under torchrun: process 0 only
        show = None if train_kwargs.get("show_progress_bar", True) else False
        build_hybrid(model, args, show_progress_bar=show)
    return model


def build_hybrid(model: RelationEncoder, args: RecipeArguments, show_progress_bar: bool | None = None) -> Path:
    """Select the offset weight on validation splits and save ``<output_dir>/hybrid`` (sharing the model)."""
    if not args.hybrid_vectors:
        raise ValueError("build_hybrid needs hybrid_vectors (e.g. 'glove-6b-50d')")
    names = split_list(args.hybrid_select_on)
    target = Path(args.output_dir) / HYBRID_DIR
    build_selected_hybrid(
        model,
        args.hybrid_vectors,
        parse_weights(args.hybrid_weights),
        names,
        target,
        args.data_dir,
        prompt_path="..",
        show_progress_bar=show_progress_bar,
        bidirectional=args.hybrid_bidirectional,
    )
    return target


def parse_weights(text: str) -> list[float]:
    """``"0,0.5,inf"`` -> ``[0.0, 0.5, inf]``; each weight a number >= 0."""
    weights = []
    for item in str(text).split(","):
        if not item.strip():
            continue
        try:
            value = float(item)
        except ValueError:
            raise ValueError(f"hybrid_weights must be numbers >= 0 or inf, got {item.strip()!r}") from None
        if not value >= 0:
            raise ValueError(f"hybrid_weights must be numbers >= 0 or inf, got {item.strip()!r}")
        weights.append(value)
    return weights


def select_weight(
    prompt: Any,
    static: OffsetEncoder,
    weights: Sequence[float],
    evaluators: Sequence[Any],
    batch_size: int = 64,
    show_progress_bar: bool | None = None,
    bidirectional: bool = False,
) -> tuple[float, list[dict[str, Any]]]:
    """Pick the weight with the best mean primary metric over ``evaluators`` (validation sets only!).

    Each component embeds every pair once (cached); each weight only re-mixes the cached vectors.
    Ties keep the earlier weight in ``weights``. Returns the weight and one row per weight.
    """
    if not weights:
        raise ValueError("no weights to choose from")
    if not evaluators:
        raise ValueError("no validation evaluators to select the weight on")
    cached_prompt = EmbeddingCache(prompt, batch_size=batch_size, show_progress_bar=show_progress_bar)
    cached_static = EmbeddingCache(static, batch_size=batch_size)
    rows: list[dict[str, Any]] = []
    for weight in weights:
        model = HybridEncoder(cached_prompt, cached_static, weight, bidirectional=bidirectional)
        scores = {e.name: float(e(model)[e.primary_metric]) for e in evaluators}
        rows.append({"weight": weight, "mean": float(np.mean(list(scores.values()))), **scores})
    best = max(range(len(rows)), key=lambda i: (rows[i]["mean"], -i))
    return float(rows[best]["weight"]), rows


def check_out_of_sample(model_path: str | Path, select_on: Sequence[str]) -> None:
    """Refuse to choose a weight on SemEval-valid for a saved model that was trained on that split."""
    side = Path(model_path) / CONFIG_NAME
    if SEMEVAL_VALID_DATASET not in select_on or not side.is_file():
        return
    arguments = ((read_json(side) or {}).get("training") or {}).get("arguments") or {}
    if includes_valid(arguments.get("train_splits", "train")):
        raise ValueError(
            f"--select-on cannot include {SEMEVAL_VALID_DATASET}: {model_path} was trained on the SemEval valid split "
            f"(train_splits {arguments['train_splits']!r}), so its questions are in-sample"
        )


def build_selected_hybrid(
    prompt: Any,
    vectors: str | Path,
    weights: Sequence[float],
    select_on: Sequence[str],
    output_dir: str | Path,
    data_dir: str | None = None,
    prompt_path: str | None = None,
    batch_size: int = 64,
    show_progress_bar: bool | None = None,
    bidirectional: bool = False,
) -> tuple[HybridEncoder, list[dict[str, Any]]]:
    """Choose the weight on the *valid* splits of the ``select_on`` analogy sets, then save the hybrid
    (and ``weight_selection.json``) to ``output_dir``; ``prompt_path`` as in :meth:`HybridEncoder.save_pretrained`."""
    evaluators = [analogy_evaluator(n, "valid", data_dir, None, batch_size=batch_size) for n in select_on]
    static = OffsetEncoder.from_pretrained(vectors)
    weight, rows = select_weight(prompt, static, weights, evaluators, batch_size, show_progress_bar, bidirectional)
    model = HybridEncoder(prompt, static, weight, name_or_path=str(output_dir), bidirectional=bidirectional)
    write_json(Path(output_dir) / "weight_selection.json", rows)
    model.save_pretrained(output_dir, prompt_path=prompt_path)  # its side file, written last, marks it complete
    return model, rows
