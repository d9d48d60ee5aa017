"""Training arguments and the training presets; JSON/YAML-serialisable, validated on construction."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from relvec.backbones import DEFAULT_BACKBONE
from relvec.config import DEFAULT_MAX_LENGTH, DEFAULT_POOLING, POOLING_MODES
from relvec.data import ANALOGY_DATASETS, ANALOGY_VALID_SETS
from relvec.extras import require
from relvec.files import read_json, short_repr
from relvec.losses import LOSSES
from relvec.precision import PRECISIONS
from relvec.prompts import resolve_template
from relvec.validation import TRAINING_RANGES, check_fields, option, split_list

SELECT_ON = ("semeval_valid", "analogy_valid", "last")
TRAIN_SPLITS = ("train", "valid")


def includes_valid(train_splits: Any) -> bool:
    """Whether a ``train_splits`` value (a comma list) names the data's valid split."""
    return "valid" in split_list(str(train_splits))


A = TypeVar("A", bound="TrainingArguments")

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
}


@dataclass
class ContrastiveArguments:
    """The fields every contrastive run shares (fine-tuning, P-tuning, prompt search), defined once;
    :class:`TrainingArguments` and :class:`~relvec.training.prompt_search.PromptSearchArguments` extend it
    (a subclass changes a default with :func:`default_of`, keeping the help and choices)."""

    backbone: str = option(DEFAULT_BACKBONE, help="backbone: alias (minilm, mpnet), folder or hub id")
    pooling: str = option(DEFAULT_POOLING, help="how token states become one vector", choices=POOLING_MODES)
    data: str = option("semeval2012", help="relation-similarity data: a name under the data dir, a folder or JSONL")
    data_dir: str | None = option(None, help="benchmark data directory (default: $RELVEC_DATA)")
    output_dir: str = option("runs/relvec", help="run folder: the selected model, logs, checkpoint")
    loss: str = option("nce", help="contrastive loss", choices=LOSSES)
    temperature: float = option(0.05, help="softmax temperature of nce / info_loob")
    num_positive: int = option(10, help="positives sampled per relation and step")
    num_negative: int = option(400, help="negatives sampled per relation and step")
    epochs: int = option(10, help="passes over the relations")
    learning_rate: float = option(5e-6, help="AdamW peak learning rate")
    chunk_size: int = option(64, help="prompts per forward pass; more per step use the gradient cache")
    seed: int = option(0, help="random seed (sampling, dropout, validation questions)")
    precision: str = option("auto", help="compute precision (auto: bf16 where the CPU has it)", choices=PRECISIONS)


def default_of(cls: type, name: str, default: Any) -> Any:
    """Field ``name`` of dataclass ``cls`` with another default (its help and choices kept)."""
    base = cls.__dataclass_fields__[name]  # type: ignore[attr-defined]
    return dataclasses.field(default=default, metadata=base.metadata)


@dataclass
class TrainingArguments(ContrastiveArguments):
    """Everything a training run needs (training only: what follows training is a recipe's, see
    :mod:`relvec.recipes`). Each field's metadata carries its help text and choices for the CLI."""

    presets: ClassVar[dict[str, dict[str, Any]]] = PRESETS

    template: str | None = option(
        None, help="manual template (a-e) or a custom one; default: the folder's own (a learned prompt stays), else d"
    )
    max_length: int = option(DEFAULT_MAX_LENGTH, help="longest prompt in tokens (at most the backbone's positions)")
    train_splits: str = option(
        "train",
        help="comma list of the data's splits to train on (train, valid); with valid, the SemEval-valid questions "
        "are in-sample, so they can neither select the epoch nor be reported",
    )
    margin: float = option(1.0, help="triplet margin")
    distance: str = option("euclidean", help="triplet distance", choices=("euclidean", "cosine"))
    classification: bool = option(False, help="add the SBERT classification term to the triplet loss")
    reversed_negatives: int = option(
        0,
        help="direction-aware negatives: up to this many of the step's positives (a, b) also enter as negatives "
        "reversed, (b, a), unless (b, a) is itself a positive",
    )
    augment_negatives: bool = option(True, help="add the other relations' positives to each relation's negatives")
    parent_relations: bool = option(False, help="merge sub-relations into their parent (8a…8h -> 8)")
    exclude_relations: list[str] = option(  # noqa: RUF009 (option() returns a dataclasses.field)
        default_factory=list, help="comma list of relations or parents to leave out entirely (e.g. 1,8d)"
    )
    relations_per_step: int = option(
        1,
        help="relations per optimiser step (gradients summed, each relation's loss / the group size); "
        "under torchrun a multiple of the process count, each process taking its share",
    )
    warmup_steps: int = option(10, help="linear warm-up steps, then linear decay to zero")
    weight_decay: float = option(0.0, help="AdamW weight decay")
    select_on: str = option(
        "semeval_valid",
        help="epoch selection: SemEval-valid analogies, the mean accuracy on the valid splits of --select-sets "
        "(SemEval-valid then only reported), or the last epoch; an evaluator passed in code replaces the first two",
        choices=SELECT_ON,
    )
    select_sets: str = option(
        ",".join(ANALOGY_VALID_SETS),
        help="analogy sets (comma list) whose valid splits select the epoch with --select-on analogy_valid",
    )
    average_epochs: int = option(
        0,
        help="save the mean of the weights after each of the last N epochs instead of the selected epoch "
        "(0: off); every epoch is still validated and logged",
    )
    validation_questions_per_relation: int = option(5, help="SemEval-valid analogy questions per relation")
    keep_checkpoint: bool = option(False, help="keep <output>/checkpoint after training")
    preset: str | None = option(None, help="start from a preset's values (flags and config files override them)")

    def __post_init__(self) -> None:
        if isinstance(self.exclude_relations, str):
            self.exclude_relations = [s for s in self.exclude_relations.split(",") if s]
        if self.template is not None:
            resolve_template(self.template)
        if self.preset is not None and self.preset not in self.presets:
            known = ", ".join(self.presets)
            raise ValueError(f"preset (--preset) must be one of {known}, got {short_repr(self.preset)}")
        check_fields(self, TRAINING_RANGES)
        self._check_select_sets()
        self._check_train_splits()
        if self.average_epochs > self.epochs:
            raise ValueError(
                f"average_epochs (--average-epochs) must be at most epochs ({self.epochs}), got {self.average_epochs}"
            )
        if not isinstance(self.exclude_relations, list) or not all(isinstance(s, str) for s in self.exclude_relations):
            raise ValueError(f"exclude_relations must be a list of names, got {short_repr(self.exclude_relations)}")

    def _check_select_sets(self) -> None:
        names = [n.strip() for n in self.select_sets.split(",")] if isinstance(self.select_sets, str) else []
        bad = [n for n in names if n not in ANALOGY_DATASETS and not n.endswith(".jsonl")]
        if not any(names) or bad:
            raise ValueError(
                f"select_sets (--select-sets) must list analogy sets ({', '.join(ANALOGY_DATASETS)}) "
                f"or .jsonl files, got {short_repr(self.select_sets)}"
            )

    @property
    def trains_on_valid(self) -> bool:
        """Whether the data's valid split is trained on (its SemEval-valid questions are then in-sample)."""
        return includes_valid(self.train_splits)

    def _check_train_splits(self) -> None:
        names = [n.strip() for n in self.train_splits.split(",")] if isinstance(self.train_splits, str) else []
        if not names or any(n not in TRAIN_SPLITS for n in names) or len(set(names)) != len(names):
            raise ValueError(
                f"train_splits (--train-splits) must be a comma list of distinct splits out of "
                f"{', '.join(TRAIN_SPLITS)}, got {short_repr(self.train_splits)}"
            )
        if self.trains_on_valid and self.select_on == "semeval_valid":
            raise ValueError(
                "select_on (--select-on) cannot be semeval_valid when train_splits (--train-splits) includes valid: "
                "its questions come from that split; use analogy_valid or last"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls: type[A], data: dict[str, Any]) -> A:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            hint = " (hybrid settings belong to relvec.recipes.RecipeArguments)" if "hybrid_vectors" in unknown else ""
            raise ValueError(f"unknown training arguments: {', '.join(unknown)}{hint}")
        return cls(**data)

    @classmethod
    def from_preset(cls: type[A], preset: str, **overrides: Any) -> A:
        if preset not in cls.presets:
            raise ValueError(f"preset must be one of {', '.join(cls.presets)}, got {short_repr(preset)}")
        return cls.from_dict({**cls.presets[preset], "preset": preset, **overrides})

    @classmethod
    def from_file(cls: type[A], path: str | Path, **overrides: Any) -> A:
        """Read JSON or YAML (by extension); a ``preset`` key there is expanded first."""
        path = Path(path)
        if path.suffix in (".yaml", ".yml"):
            yaml = require("yaml", f"reading the YAML config {path}")
            try:
                data = yaml.safe_load(path.read_bytes().decode("utf-8-sig")) or {}
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
                raise ValueError(f"{path}: cannot read the YAML config ({short_repr(str(exc), 200)})") from None
        else:
            data = read_json(path)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping of training arguments")
        preset = overrides.get("preset") or data.get("preset")
        base = cls.presets.get(preset, {}) if preset else {}
        try:
            return cls.from_dict({**base, **data, **overrides})
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: {exc}") from exc
