"""Distil a relvec model into a :class:`~relvec.encoders.static_relation.StaticRelationEncoder` (``relvec distill``).

1. The teacher is split into its prompt part, its word vectors (a sentence encoder's: they become the student's
   word table and out-of-vocabulary fallback) and, for a hybrid, its direction and offset weight.
2. Training pairs come from sources that never touch an evaluation split (:mod:`relvec.data.pairs`).
3. The teacher embeds them once (forward prompt part only: the student gets b:a by swapping its inputs), in
   shards written atomically under ``work_dir``, so a killed run resumes where it stopped.
4. The pair network learns to reproduce those vectors: loss = (1 − cos), optionally + ``structure_weight`` · the
   mean squared difference of the batch's student and teacher cosine matrices (off by default: it lowered
   analogy valid accuracy when measured). After every epoch the whole student answers the analogy *valid*
   questions; the best epoch is kept.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relvec.completion import VocabularyVectors, default_vocabulary
from relvec.data import ANALOGY_VALID_SETS
from relvec.data.pairs import (
    distillation_pairs,
    excluded_pairs,
    lexical_pairs,
    neighbour_pairs,
    random_pairs,
    semeval_pairs,
)
from relvec.data.relation_similarity import load_relation_similarity
from relvec.data.wordnet import load_wordnet, wordnet_pairs
from relvec.distill_rank import RANK_QUERIES, partner_rows, relation_classes, tail_ranking_loss
from relvec.distill_task import RelationTask, relation_task, task_loss
from relvec.encoders.layout import mixing_factors
from relvec.encoders.pair_network import PairNetwork
from relvec.encoders.static_relation import StaticRelationEncoder
from relvec.evaluation.suite import analogy_valid_evaluator
from relvec.files import FileFormatError, read_json, write_file, write_json
from relvec.loading import load_model
from relvec.validation import check_fields, option, split_list

Pair = tuple[str, str]
TEACHER_MANIFEST = "teacher.json"
TEACHER_CACHE_FORMAT = 2  # 1: one digest of the whole pair list (shards without their pairs)
DISTILL_RANGES = {
    "vocab_size": ("int", 100, 2_000_000),
    "pairs": ("int", 100, 100_000_000),
    "random_share": ("float", 0.0, 1.0),
    "neighbour_share": ("float", 0.0, 1.0),
    "hidden": ("int", 8, 65_536),
    "rank": ("int", 1, 65_536),
    "word_hidden": ("int", 0, 65_536),
    "epochs": ("int", 1, 10_000),
    "batch_size": ("int", 8, 1_000_000),
    "learning_rate": ("float", 1e-7, 1.0),
    "weight_decay": ("float", 0.0, 10.0),
    "dropout": ("float", 0.0, 0.9),
    "structure_weight": ("float", 0.0, 100.0),
    "task_weight": ("float", 0.0, 100.0),
    "task_relations": ("int", 1, 10_000),
    "task_negatives": ("int", 0, 1_000_000),
    "rank_weight": ("float", 0.0, 100.0),
    "rank_pairs": ("int", 1, 100_000),
    "rank_negatives": ("int", 0, 1_000_000),
    "seed": ("int", 0, 2**32 - 1),
    "wordnet_min_count": ("int", 0, 1_000_000),
    "shard_size": ("int", 100, 10_000_000),
    "teacher_batch_size": ("int", 1, 100_000),
}


@dataclass
class DistillArguments:
    """Settings of a distillation (``relvec distill``); validated on construction."""

    teacher: str = option("runs/best-cpu/hybrid", help="the relvec model to distil (a hybrid or a relation encoder)")
    output_dir: str = option("runs/static", help="folder for the static relation model")
    work_dir: str | None = option(None, help="teacher-embedding shards (default: OUTPUT-work); reused on resume")
    data_dir: str | None = option(None, help="benchmark data directory (default: $RELVEC_DATA)")
    vocab_size: int = option(50_000, help="most frequent GloVe words in the word table (plus every training word)")
    pairs: int = option(100_000, help="teacher-embedded training pairs (the cost: the teacher embeds each once)")
    random_share: float = option(0.3, help="share of random vocabulary pairs among the training pairs")
    neighbour_share: float = option(0.2, help="share of pairs of nearby words (by word-vector cosine)")
    wordnet: bool = option(False, help="add WordNet relation pairs (relvec[wordnet])")
    wordnet_min_count: int = option(
        1, help="with --wordnet: a lemma's least SemCor count (0: every lemma, ~6x the pairs of 1)"
    )
    reverse: bool = option(
        False, help="also embed every related pair reversed, (b, a): a bidirectional student computes f(b, a) too"
    )
    hidden: int = option(256, help="hidden units of the pair network")
    rank: int = option(64, help="rank of its bilinear term (x ⊙ y)")
    word_hidden: int = option(0, help="units of the per-word layer before the pair network (0: none; free per pair)")
    epochs: int = option(4, help="passes over the training pairs (the best on analogy valid is kept)")
    batch_size: int = option(1024, help="pairs per optimiser step")
    learning_rate: float = option(2e-3, help="AdamW peak learning rate (cosine decay)")
    weight_decay: float = option(0.0, help="AdamW weight decay (decoupled)")
    dropout: float = option(0.0, help="dropout on the pair network's hidden units while training (0: off)")
    structure_weight: float = option(0.0, help="weight of the batch cosine-matrix term of the loss (0: off)")
    task_weight: float = option(
        0.0, help="weight of RelBERT's own loss (NCE over SemEval-2012 train relations) on the student (0: off)"
    )
    task_relations: int = option(8, help="relations per step of the task loss")
    task_negatives: int = option(1024, help="random vocabulary pairs per step as extra negatives of the task loss")
    rank_weight: float = option(
        0.0, help="weight of the completion loss: rank a related pair's own tail above the vocabulary (0: off)"
    )
    rank_pairs: int = option(128, help="related pairs per step of the completion loss")
    rank_negatives: int = option(256, help="random vocabulary words per step as its extra candidate tails")
    rank_query: str = option(
        "own",
        help="the completion loss's relation: own (the pair's own teacher vector) or partner (another pair of the "
        "same relation class in the step: A:B::C:?)",
    )
    offset_weights: str = option(
        "0.5,0.7,1",
        help="a hybrid teacher's student: offset weights tried on analogy valid after training, besides the "
        "teacher's own (comma-separated; empty: keep the teacher's)",
    )
    select_sets: str = option(",".join(ANALOGY_VALID_SETS), help="analogy sets whose valid splits select the epoch")
    seed: int = option(0, help="random seed")
    shard_size: int = option(20_000, help="teacher vectors per shard file")
    teacher_batch_size: int = option(128, help="pairs per teacher forward pass")

    def __post_init__(self) -> None:
        check_fields(self, DISTILL_RANGES)
        for weight in split_list(self.offset_weights):
            try:
                mixing_factors(float(weight))
            except ValueError:
                raise ValueError(f"offset_weights (--offset-weights): {weight!r} is not a number >= 0") from None
        if self.rank_query not in RANK_QUERIES:
            raise ValueError(
                f"rank_query (--rank-query) must be one of {', '.join(RANK_QUERIES)}, got {self.rank_query!r}"
            )
        if self.random_share + self.neighbour_share > 1:
            raise ValueError("random_share + neighbour_share (--random-share, --neighbour-share) must be at most 1")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------------- the teacher
def teacher_parts(teacher: Any) -> tuple[Any, Any, bool, float | None]:
    """(prompt model, word vectors, bidirectional, offset weight) of a hybrid or a plain relation encoder."""
    prompt = getattr(teacher, "prompt", teacher)
    vectors = teacher.word_vectors() if callable(getattr(teacher, "word_vectors", None)) else None
    if vectors is None or not getattr(vectors, "backbone", None):
        raise ValueError(
            f"{getattr(teacher, 'name_or_path', teacher)}: distillation needs word vectors from a sentence encoder "
            "(a hybrid with encoder:BACKBONE offsets, or a relation encoder)"
        )
    weight = getattr(teacher, "weight", None) if getattr(teacher, "offset", None) is not None else None
    return prompt, vectors, bool(getattr(teacher, "bidirectional", False)), weight


def embed_teacher(
    prompt: Any,
    pairs: Sequence[Pair],
    work_dir: Path,
    shard_size: int,
    batch_size: int = 128,
    on_shard: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """The prompt part's unit vectors of ``pairs`` (float16), through a cache of shards under ``work_dir``.

    Each shard is a vector file and the JSON list of its pairs, written atomically (pairs first, vectors last,
    so a shard counts once its vectors exist). Pairs found in any shard are not embedded again: a killed run
    resumes from its last complete shard, and a run on more or other pairs embeds only the new ones (which is
    how the data-scale runs share their teacher time). The cache refuses a different teacher."""
    work_dir.mkdir(parents=True, exist_ok=True)
    manifest = {"format": TEACHER_CACHE_FORMAT, "teacher": str(prompt.name_or_path)}
    path = work_dir / TEACHER_MANIFEST
    if path.is_file() and read_json(path) != manifest:
        raise ValueError(
            f"{work_dir} holds teacher vectors of another teacher or format ({read_json(path)}); use a new --work-dir"
        )
    write_json(path, manifest)
    cached, vectors = _cached_vectors(work_dir)
    missing = list(dict.fromkeys(p for p in map(tuple, pairs) if p not in cached))
    count = math.ceil(len(missing) / shard_size)
    numbers = (re.fullmatch(r"shard-(\d+)\.(?:npy|json)", f.name) for f in work_dir.iterdir())
    first = 1 + max((int(m.group(1)) for m in numbers if m), default=-1)
    for i in range(count):
        part = missing[i * shard_size : (i + 1) * shard_size]
        done = prompt.encode(list(part), batch_size=batch_size, normalize=True, show_progress_bar=False)
        done = np.asarray(done, dtype=np.float16)
        stem = work_dir / f"shard-{first + i:05d}"
        write_json(stem.with_suffix(".json"), [list(p) for p in part])
        write_file(stem.with_suffix(".npy"), lambda f, v=done: np.save(f, v, allow_pickle=False))
        cached.update({p: (len(vectors), row) for row, p in enumerate(part)})
        vectors.append(done)
        if on_shard is not None:
            on_shard(i + 1, count)
    if not pairs:
        return np.zeros((0, vectors[0].shape[1] if vectors else 1), dtype=np.float16)
    where = np.array([cached[tuple(p)] for p in pairs])
    out = np.empty((len(pairs), vectors[0].shape[1]), dtype=np.float16)
    for shard, shard_vectors in enumerate(vectors):  # gathered shard by shard: the cache is never copied whole
        chosen = where[:, 0] == shard
        out[chosen] = shard_vectors[where[chosen, 1]]
    return out


def _cached_vectors(work_dir: Path) -> tuple[dict[Pair, tuple[int, int]], list[np.ndarray]]:
    """Pair -> (shard, row) and the shards' vectors, for every complete shard under ``work_dir``."""
    cached: dict[Pair, tuple[int, int]] = {}
    vectors: list[np.ndarray] = []
    for stem in sorted(p.with_suffix("") for p in work_dir.glob("shard-*.npy")):
        listed = stem.with_suffix(".json")
        if not listed.is_file():
            continue
        listed_pairs = read_json(listed)
        if not isinstance(listed_pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(w, str) for w in p) for p in listed_pairs
        ):
            raise FileFormatError(f"{listed}: expected a JSON list of [head, tail] pairs")
        shard_pairs = [(a, b) for a, b in listed_pairs]
        shard = np.load(stem.with_suffix(".npy"), allow_pickle=False)
        if shard.ndim != 2 or shard.shape[0] != len(shard_pairs):
            raise FileFormatError(f"{stem}.npy: {shard.shape[0]} vectors for {len(shard_pairs)} pairs in {listed.name}")
        cached.update({p: (len(vectors), row) for row, p in enumerate(shard_pairs)})
        vectors.append(shard)
    return cached, vectors


# ---------------------------------------------------------------------------- the data
def training_pairs(
    args: DistillArguments, vocabulary: Sequence[str], vectors: np.ndarray
) -> tuple[list[Pair], dict[str, int], set[Pair]]:
    """Benchmark train/valid pairs (and WordNet's) first, optionally each reversed, then random and nearby
    vocabulary pairs; shuffled and cut to ``args.pairs``. Also returns the related pairs (every source but the
    random and nearby ones)."""
    n_random = int(args.pairs * args.random_share)
    n_near = int(args.pairs * args.neighbour_share)
    related = {
        "semeval": semeval_pairs(args.data_dir),
        "lexical": lexical_pairs(args.data_dir),
        **({"wordnet": wordnet_relation_pairs(args.wordnet_min_count)} if args.wordnet else {}),
    }
    sources = {
        **related,
        **({"reversed": [(b, a) for pairs in related.values() for a, b in pairs]} if args.reverse else {}),
        "random": random_pairs(vocabulary, n_random, args.seed),
        "neighbours": neighbour_pairs(vocabulary, vectors, n_near, seed=args.seed),
    }
    pairs, counts = distillation_pairs(sources, excluded_pairs(args.data_dir), limit=args.pairs, seed=args.seed)
    unrelated = ("random", "neighbours")
    related_pairs = {(a.strip(), b.strip()) for name in sources if name not in unrelated for a, b in sources[name]}
    return pairs, counts, related_pairs


def related_rows(args: DistillArguments, pairs: Sequence[Pair], related_pairs: set[Pair]) -> torch.Tensor:
    """What the completion loss needs of each training pair: whether it is related (``--rank-query own``), or its
    relation class id, −1 for none (``partner``; :func:`~relvec.distill_rank.relation_classes`)."""
    if args.rank_query == "own":
        return torch.as_tensor([p in related_pairs for p in pairs])
    classes = relation_classes(args.data_dir, args.wordnet, args.wordnet_min_count, args.reverse)
    ids = {name: i for i, name in enumerate(sorted(set(classes.values())))}
    return torch.as_tensor([ids[classes[p]] if p in classes else -1 for p in pairs])


def wordnet_relation_pairs(min_count: int = 1) -> list[Pair]:
    """Every pair of WordNet's relation types (``relvec data wordnet``'s pairs), in a fixed order."""
    pairs = wordnet_pairs(load_wordnet(), min_count=min_count)
    return [pair for kind in sorted(pairs) for pair in pairs[kind]]


def word_table(word_vectors: Any, words: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Unit vectors of ``words`` (distinct, in order) from the teacher's word vectors."""
    space = VocabularyVectors.build(word_vectors, words, show_progress_bar=False)
    return space.words, space.matrix


# ---------------------------------------------------------------------------- training
def structure_loss(student: torch.Tensor, teacher: torch.Tensor, weight: float) -> torch.Tensor:
    """(1 − cos) per pair, plus ``weight`` × the mean squared difference of the two batch cosine matrices."""
    s = torch.nn.functional.normalize(student, dim=1)
    t = torch.nn.functional.normalize(teacher, dim=1)
    loss = (1 - (s * t).sum(dim=1)).mean()
    if weight > 0:
        loss = loss + weight * ((s @ s.T - t @ t.T) ** 2).mean()
    return loss


def step_loss(
    network: PairNetwork,
    table: torch.Tensor,
    batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    args: DistillArguments,
    generator: torch.Generator,
    task: RelationTask | None,
    related: torch.Tensor | None = None,
) -> torch.Tensor:
    """Imitation of the teacher on a batch of (heads, tails, teacher vectors), plus the task loss and the
    completion loss (on up to ``args.rank_pairs`` of the batch's pairs that ``related`` marks) if asked."""
    heads, tails, targets = batch
    loss = structure_loss(network(table[heads], table[tails]), targets, args.structure_weight)
    if task is not None and args.task_weight > 0:
        loss = loss + args.task_weight * task_loss(
            network, table, task, generator, args.task_relations, args.task_negatives
        )
    if related is not None and args.rank_weight > 0:
        if args.rank_query == "partner":  # related: class ids; the relation of another pair of the same class
            chosen, partners = (rows[: args.rank_pairs] for rows in partner_rows(related, generator))
        else:  # related: a mask; the pair's own relation
            chosen = partners = related.nonzero()[: args.rank_pairs, 0]
        loss = loss + args.rank_weight * tail_ranking_loss(
            network, table, heads[chosen], tails[chosen], targets[partners], generator, args.rank_negatives
        )
    return loss


def train_network(
    network: PairNetwork,
    table: torch.Tensor,
    heads: torch.Tensor,
    tails: torch.Tensor,
    targets: torch.Tensor,
    args: DistillArguments,
    on_epoch: Callable[[int, float], float],
    task: RelationTask | None = None,
    related: torch.Tensor | None = None,
) -> list[dict[str, float]]:
    """AdamW with cosine decay over ``args.epochs``; ``on_epoch(epoch, train_loss)`` returns the validation score,
    and the best epoch's weights are loaded back at the end. With ``task``, each step adds ``args.task_weight`` ×
    the task loss (:mod:`relvec.distill_task`); with ``related`` (a mask of the pairs whose words are related),
    ``args.rank_weight`` × the tail-ranking loss of up to ``args.rank_pairs`` of them (:mod:`relvec.distill_rank`)."""
    generator = torch.Generator().manual_seed(args.seed)
    optimiser = torch.optim.AdamW(network.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
    network.dropout = args.dropout
    steps = args.epochs * math.ceil(len(heads) / args.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))
    )
    history: list[dict[str, float]] = []
    best: tuple[float, dict[str, torch.Tensor]] | None = None
    for epoch in range(1, args.epochs + 1):
        network.train()
        order = torch.randperm(len(heads), generator=generator)
        losses = []
        for start in range(0, len(order), args.batch_size):
            idx = order[start : start + args.batch_size]
            marked = None if related is None else related[idx]
            batch = (heads[idx], tails[idx], targets[idx])
            loss = step_loss(network, table, batch, args, generator, task, marked)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(float(loss.detach()))
        network.eval()
        score = on_epoch(epoch, float(np.mean(losses)))
        history.append({"epoch": epoch, "train_loss": float(np.mean(losses)), "valid": score})
        if best is None or score > best[0]:
            best = (score, {k: v.detach().clone() for k, v in network.state_dict().items()})
    if best is not None:
        network.load_state_dict(best[1])
    return history


def best_offset_weight(
    student: Callable[[], StaticRelationEncoder],
    teacher_weight: float,
    candidates: Sequence[str],
    evaluator: Callable[[Any], dict[str, Any]],
    log: Callable[[str], None],
) -> tuple[float, float]:
    """(offset weight, its valid score): the weight, among the teacher's and ``candidates``, whose student scores
    best on analogy valid (the teacher's on ties): a student's prompt part is noisier than its teacher's, its
    offset part exact."""
    scores: dict[float, float] = {}
    for weight in dict.fromkeys([teacher_weight, *(float(c) for c in candidates)]):
        model = student()
        model.offset_weight = weight
        metrics = evaluator(model)
        scores[weight] = float(metrics[metrics["primary_metric"]])
        log(f"offset weight {weight:g}: analogy valid {100 * scores[weight]:.1f}")
    best = max(scores, key=lambda w: (scores[w], w == teacher_weight))
    return best, scores[best]


def distill(
    args: DistillArguments,
    teacher: Any | None = None,
    vocabulary: Sequence[str] | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> StaticRelationEncoder:
    """Distil ``args.teacher`` (or the model given) into a static relation model saved to ``args.output_dir``;
    ``vocabulary`` replaces the ``vocab_size`` most frequent GloVe words as the word table's base."""
    started = time.perf_counter()
    torch.manual_seed(args.seed)
    teacher = teacher if teacher is not None else load_model(args.teacher)
    prompt, word_vectors, bidirectional, weight = teacher_parts(teacher)
    words, table = word_table(word_vectors, vocabulary or default_vocabulary(args.vocab_size))
    log(f"word table: {len(words)} words of {word_vectors.backbone}")
    pairs, counts, related_pairs = training_pairs(args, words, table)
    records = load_relation_similarity("semeval2012", "train", args.data_dir) if args.task_weight > 0 else []
    task_words = {w for r in records for p in r.positives + r.negatives for w in p}
    extra = sorted(({w for p in pairs for w in p} | task_words) - set(words))
    if extra:
        more, more_vectors = word_table(word_vectors, extra)
        words, table = [*words, *more], np.vstack([table, more_vectors])
    log(f"{len(pairs)} training pairs ({', '.join(f'{k} {v}' for k, v in counts.items())} before the cut)")
    work = Path(args.work_dir or f"{args.output_dir}-work")
    targets = embed_teacher(
        prompt,
        pairs,
        work,
        args.shard_size,
        args.teacher_batch_size,
        on_shard=lambda i, n: log(f"teacher: shard {i}/{n}"),
    )
    index = {w: i for i, w in enumerate(words)}
    heads = torch.as_tensor([index[a] for a, _ in pairs])
    tails = torch.as_tensor([index[b] for _, b in pairs])
    network = PairNetwork(table.shape[1], args.hidden, args.rank, targets.shape[1], args.word_hidden)
    evaluator = analogy_valid_evaluator(split_list(args.select_sets), args.data_dir, show_progress_bar=False)
    matrix = torch.from_numpy(table)

    def student() -> StaticRelationEncoder:
        return StaticRelationEncoder(
            words, table, network, word_vectors.backbone, bidirectional, weight, args.output_dir
        )

    def on_epoch(epoch: int, loss: float) -> float:
        metrics = evaluator(student())
        score = float(metrics[metrics["primary_metric"]])
        log(f"epoch {epoch}: loss {loss:.4f}, analogy valid {100 * score:.1f}")
        return score

    task = relation_task(records, index) if records else None
    targets_fp32 = torch.from_numpy(targets.astype(np.float32))
    related = related_rows(args, pairs, related_pairs) if args.rank_weight > 0 else None
    history = train_network(network, matrix, heads, tails, targets_fp32, args, on_epoch, task, related)
    teacher_weight, best_valid = weight, max(h["valid"] for h in history)
    if weight is not None:
        weight, best_valid = best_offset_weight(student, weight, split_list(args.offset_weights), evaluator, log)
    model = student()
    model.info = {
        "teacher": str(getattr(teacher, "name_or_path", args.teacher)),
        "pairs": len(pairs),
        "sources": counts,
        "arguments": {k: v for k, v in args.to_dict().items() if k not in ("output_dir", "work_dir", "data_dir")},
        "history": history,
        "teacher_offset_weight": teacher_weight,
        "best_valid": best_valid,
        "minutes": round((time.perf_counter() - started) / 60, 1),
    }
    model.save_pretrained(args.output_dir)
    return StaticRelationEncoder.from_pretrained(args.output_dir)
