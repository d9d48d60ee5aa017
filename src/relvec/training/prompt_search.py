"""Learned prompts: AutoPrompt (discrete trigger tokens) and P-tuning (continuous trigger vectors).

Both keep the encoder frozen and optimise the prompt ``[T]×b <subj> [T]×i <obj> [T]×e <mask>`` with the
relational contrastive loss used for fine-tuning (NCE by default), as in the RelBERT paper's
prompt-generation study. The result is a relvec model folder whose config carries the prompt, so
``relvec train --backbone FOLDER`` fine-tunes with it and ``encode`` uses it.

- AutoPrompt (Shin et al., 2020): per iteration, the gradient of the batch loss w.r.t. one trigger's
  input embedding ranks every allowed vocabulary token by the first-order (HotFlip) estimate of the
  loss change, −e_v · ∇; the top-k candidates are re-scored by the actual loss and the best one is kept
  if it lowers the loss on that batch.
- P-tuning (Liu et al., 2021): trainable vectors for the trigger slots, produced by a prompt encoder
  (embedding → 2-layer bidirectional LSTM → 2-layer MLP), trained with the relvec Trainer while the
  backbone's weights stay frozen.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relvec.config import LEARNED_METHODS
from relvec.data import RelationRecord, augment_negatives, load_relation_similarity, validation_questions
from relvec.encoders.prompt import PromptEncoder, RelationEncoder
from relvec.evaluation.analogy import SEMEVAL_VALID, semeval_valid_evaluator
from relvec.files import write_json, write_text
from relvec.losses import RelationLoss, build_loss
from relvec.precision import autocast, resolve_precision
from relvec.prompts import PromptShape
from relvec.training.arguments import ContrastiveArguments, TrainingArguments, default_of
from relvec.training.trainer import Trainer
from relvec.validation import PROMPT_SEARCH_RANGES, check_fields, option

SEARCH_LOG = "prompt_search.json"
TEMPLATE_FILE = "template.txt"


@dataclass
class PromptSearchArguments(ContrastiveArguments):
    """Settings of a prompt search; JSON-serialisable, validated on construction. The shared fields are
    :class:`ContrastiveArguments`' (here with a prompt search's defaults); the rest are the search's own."""

    method: str = option(
        "autoprompt", help="discrete triggers (autoprompt) or trained vectors (ptuning)", choices=LEARNED_METHODS
    )
    shape: str = option("3,3,3", help="trigger counts before <subj>, between the words, and before <mask>")
    output_dir: str = default_of(ContrastiveArguments, "output_dir", "runs/prompt")
    num_positive: int = default_of(ContrastiveArguments, "num_positive", 5)
    num_negative: int = default_of(ContrastiveArguments, "num_negative", 32)
    # AutoPrompt
    iterations: int = option(60, help="autoprompt: trigger updates (one slot per iteration, in turn)")
    relations_per_batch: int = option(4, help="autoprompt: relations per batch")
    top_k: int = option(10, help="autoprompt: candidate tokens re-scored per iteration")
    init_token: str = option("the", help="autoprompt: the token every trigger starts as")
    fixed_batch: bool = option(False, help="autoprompt: score every iteration on the same batch")
    # P-tuning (trained with the relvec Trainer; selection on SemEval-valid analogies)
    epochs: int = default_of(ContrastiveArguments, "epochs", 2)
    learning_rate: float = default_of(ContrastiveArguments, "learning_rate", 1e-3)
    chunk_size: int = default_of(ContrastiveArguments, "chunk_size", 128)

    def __post_init__(self) -> None:
        PromptShape.parse(self.shape)
        check_fields(self, PROMPT_SEARCH_RANGES)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromptSearchArguments:
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown prompt-search arguments: {', '.join(unknown)}")
        return cls(**data)

    def settings(self) -> dict[str, Any]:
        """What a saved folder records about how its prompt was found."""
        keep = ("loss", "temperature", "num_positive", "num_negative", "seed", "data")
        own = ("iterations", "relations_per_batch", "top_k", "init_token", "fixed_batch")
        own = own if self.method == "autoprompt" else ("epochs", "learning_rate")
        return {k: getattr(self, k) for k in (*keep, *own)}


# ---------------------------------------------------------------------------- AutoPrompt
def candidate_token_ids(tokenizer: Any) -> list[int]:
    """Vocabulary ids a trigger may take: whole-word alphabetic tokens, no special or continuation tokens.

    WordPiece continuations start with ``##``; for byte-level BPE (``Ġ``) and SentencePiece (``▁``)
    vocabularies only word-initial tokens are kept.
    """
    vocab = tokenizer.get_vocab()
    special = set(tokenizer.all_special_ids)
    markers = [m for m in ("Ġ", "▁") if sum(1 for t in vocab if t.startswith(m)) > len(vocab) // 10]
    allowed = []
    for token, index in vocab.items():
        if index in special or token.startswith("##"):
            continue
        word = token
        if markers:
            if not token.startswith(markers[0]):
                continue
            word = token[len(markers[0]) :]
        if word.isalpha() and word.isascii():
            allowed.append(index)
    return sorted(allowed)


def _sample_batch(
    records: Sequence[RelationRecord], args: PromptSearchArguments, rng: np.random.Generator
) -> list[tuple[list[tuple[str, str]], list[tuple[str, str]]]]:
    chosen = rng.choice(len(records), size=min(args.relations_per_batch, len(records)), replace=False)
    batch = []
    for i in sorted(chosen):
        r = records[int(i)]
        pos = [r.positives[j] for j in sorted(rng.permutation(len(r.positives))[: args.num_positive])]
        neg = [r.negatives[j] for j in sorted(rng.permutation(len(r.negatives))[: args.num_negative])]
        batch.append((pos, neg))
    return batch


def batch_loss(
    model: RelationEncoder,
    loss_fn: RelationLoss,
    batch: Sequence[tuple[Sequence[tuple[str, str]], Sequence[tuple[str, str]]]],
    trigger_embeddings: torch.Tensor | None = None,
    precision: str = "fp32",
) -> torch.Tensor:
    """Mean contrastive loss over the relations of a batch (graph kept when inputs require grad)."""
    losses = []
    for pos, neg in batch:
        features = model.tokenize([*pos, *neg])
        with autocast(precision, model.device):
            emb = model(model.collate(features), trigger_embeddings=trigger_embeddings).float()
        losses.append(loss_fn(emb[: len(pos)], emb[len(pos) :]))
    return torch.stack(losses).mean()


def autoprompt(
    model: RelationEncoder,
    records: Sequence[RelationRecord],
    args: PromptSearchArguments,
    on_iteration: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Search discrete trigger tokens for ``model`` (frozen; its config receives the prompt). Returns the log."""
    shape = PromptShape.parse(args.shape)
    tokenizer = model.tokenizer
    allowed = torch.tensor(candidate_token_ids(tokenizer), dtype=torch.long)
    if len(allowed) == 0:
        raise ValueError("the tokenizer has no whole-word tokens to use as triggers")
    init = tokenizer.convert_tokens_to_ids(args.init_token)
    if init is None or init == tokenizer.unk_token_id:
        init = tokenizer.mask_token_id
    model.config.prompt = {"method": "autoprompt", "shape": shape.as_list(), "trigger_ids": [init] * shape.num_triggers}
    model.set_trigger_ids([init] * shape.num_triggers)
    precision = resolve_precision(args.precision, model.device)
    loss_fn = build_loss(args.loss, args.temperature)
    matrix = model.backbone.get_input_embeddings().weight.detach()
    rng = np.random.default_rng(args.seed)
    fixed = _sample_batch(records, args, rng) if args.fixed_batch else None
    log: list[dict[str, Any]] = []
    with _frozen(model):
        for iteration in range(args.iterations):
            batch = fixed or _sample_batch(records, args, rng)
            ids = list(model.config.prompt["trigger_ids"])
            slot = iteration % shape.num_triggers
            leaf = matrix[torch.tensor(ids, device=matrix.device)].clone().requires_grad_(True)
            current = batch_loss(model, loss_fn, batch, leaf, precision)
            (grad,) = torch.autograd.grad(current, leaf)
            # first-order estimate of the loss change when slot -> token v: (e_v - e_now) · grad
            scores = -(matrix[allowed] @ grad[slot].to(matrix.dtype))
            candidates = allowed[torch.topk(scores, min(args.top_k, len(allowed))).indices].tolist()
            best_id, best_loss = ids[slot], float(current.detach())
            with torch.no_grad():
                for candidate in candidates:
                    if candidate == ids[slot]:
                        continue
                    trial = [*ids[:slot], candidate, *ids[slot + 1 :]]
                    model.set_trigger_ids(trial)
                    value = float(batch_loss(model, loss_fn, batch, precision=precision))
                    if value < best_loss:
                        best_id, best_loss = candidate, value
            model.set_trigger_ids([*ids[:slot], best_id, *ids[slot + 1 :]])
            entry = {
                "iteration": iteration + 1,
                "slot": slot,
                "loss_before": float(current.detach()),
                "loss_after": best_loss,
                "accepted": best_id != ids[slot],
                "token": tokenizer.convert_ids_to_tokens(best_id),
                "template": model.config.template,
            }
            log.append(entry)
            if on_iteration is not None:
                on_iteration(entry)
    return log


class _frozen:
    """Freeze the backbone (no gradients, eval mode) for the duration of a search; restore afterwards."""

    def __init__(self, model: RelationEncoder) -> None:
        self.model = model
        self.flags: list[bool] = []

    def __enter__(self) -> None:
        self.training = self.model.training
        self.flags = [p.requires_grad for p in self.model.backbone.parameters()]
        self.model.backbone.requires_grad_(False)
        self.model.eval()

    def __exit__(self, *exc: Any) -> None:
        for p, flag in zip(self.model.backbone.parameters(), self.flags, strict=True):
            p.requires_grad_(flag)
        self.model.train(self.training)


# ---------------------------------------------------------------------------- P-tuning
def attach_prompt_encoder(model: RelationEncoder, shape: PromptShape, settings: dict[str, Any] | None = None) -> None:
    """Give ``model`` a fresh P-tuning prompt encoder for ``shape``."""
    encoder = PromptEncoder(shape.num_triggers, model.embedding_dim).to(model.device)
    model.config.prompt = {"method": "ptuning", "shape": shape.as_list(), "settings": settings or {}}
    model.config.template = shape.template()
    model.prompt_encoder = encoder


def ptuning(
    model: RelationEncoder,
    records: Sequence[RelationRecord],
    args: PromptSearchArguments,
    valid_records: Sequence[RelationRecord] | None = None,
    show_progress_bar: bool = False,
    epoch_callbacks: Sequence[Callable[[dict[str, Any]], None]] = (),
) -> RelationEncoder:
    """Train a prompt encoder with the backbone frozen; the selected model is saved to ``args.output_dir``."""
    attach_prompt_encoder(model, PromptShape.parse(args.shape), args.settings())
    shared = {f.name: getattr(args, f.name) for f in dataclasses.fields(ContrastiveArguments)}
    targs = TrainingArguments(
        **shared, template=model.config.template, select_on=SEMEVAL_VALID if valid_records else "last"
    )
    evaluator = semeval_valid_evaluator(validation_questions(valid_records, seed=args.seed)) if valid_records else None
    model.backbone.requires_grad_(False)  # only the prompt encoder is trained
    try:
        trainer = Trainer(
            model, targs, records, evaluator, show_progress_bar=show_progress_bar, epoch_callbacks=epoch_callbacks
        )
        return trainer.train()
    finally:
        model.backbone.requires_grad_(True)


# ---------------------------------------------------------------------------- entry point
def search_prompt(
    args: PromptSearchArguments,
    on_iteration: Callable[[dict[str, Any]], None] | None = None,
    show_progress_bar: bool = False,
    epoch_callbacks: Sequence[Callable[[dict[str, Any]], None]] = (),
) -> RelationEncoder:
    """Run the search named by ``args.method`` on the untuned backbone and save a model folder.

    The folder is a normal relvec model whose config carries the prompt (``relvec train --backbone
    FOLDER`` fine-tunes with it), plus ``prompt_search.json`` and, for AutoPrompt, ``template.txt``.
    """
    model = RelationEncoder.from_pretrained(args.backbone, pooling=args.pooling)
    if model.config.training or model.config.prompt:
        raise ValueError(f"{args.backbone}: prompt search starts from an untuned backbone without a learned prompt")
    records = augment_negatives(load_relation_similarity(args.data, "train", args.data_dir))
    records = [r for r in records if len(r.positives) >= 2 and r.negatives]
    out = Path(args.output_dir)
    if args.method == "autoprompt":
        log = autoprompt(model, records, args, on_iteration)
        model.config.prompt = {**model.config.prompt, "settings": args.settings()}
        model.save_pretrained(out)
        write_text(out / TEMPLATE_FILE, model.config.template + "\n")
        payload: dict[str, Any] = {"arguments": args.to_dict(), "log": log}
    else:
        valid = load_relation_similarity(args.data, "valid", args.data_dir)
        model = ptuning(model, records, args, valid, show_progress_bar, epoch_callbacks)
        payload = {"arguments": args.to_dict(), "history": model.config.training.get("history", [])}
        model.config.training = {}  # the backbone itself is untuned: later fine-tuning starts here
        model.save_pretrained(out)
    write_json(out / SEARCH_LOG, payload)
    return model
