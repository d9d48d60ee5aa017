"""Every evaluator in one run (``relvec eval all``) and paper-style Markdown tables of the results."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from relvec.data import (
    ANALOGY_DATASETS,
    LEXICAL_DATASETS,
    SEMEVAL_VALID_DATASET,
    load_analogy,
    load_relation_similarity,
    seeded_subset,
    validation_questions,
)
from relvec.evaluation.analogy import AnalogyEvaluator
from relvec.evaluation.cache import EmbeddingCache
from relvec.evaluation.classification import LexicalRelationEvaluator
from relvec.evaluation.combined import MeanEvaluator
from relvec.evaluation.mapping import RelationMappingEvaluator
from relvec.version import __version__

ANALOGY_SUITE = (*ANALOGY_DATASETS, SEMEVAL_VALID_DATASET)
TASKS = ("analogy", "lexical_relation", "relation_mapping")
_LABELS = {
    "sat_full": "SAT (full)",
    "sat": "SAT",
    "u2": "U2",
    "u4": "U4",
    "google": "Google",
    "bats": "BATS",
    "conceptnet_relational_similarity": "ConceptNet",
    "t_rex_relational_similarity": "T-REx",
    "nell_relational_similarity": "NELL",
    SEMEVAL_VALID_DATASET: "SemEval-valid",
}


def analogy_evaluator(name: str, split: str, data_dir: str | None, max_questions: int | None, **kw: Any) -> Any:
    """An :class:`AnalogyEvaluator` for a named set (``semeval2012_valid``: built from the SemEval valid split)."""
    if name == SEMEVAL_VALID_DATASET:
        questions = validation_questions(load_relation_similarity("semeval2012", "valid", data_dir))
    else:
        questions = load_analogy(name, split, data_dir)
    return AnalogyEvaluator(seeded_subset(questions, max_questions, seed=0), name=name, **kw)


def analogy_valid_evaluator(
    names: Sequence[str], data_dir: str | None, report_only: Sequence[Any] = (), name: str = "valid", **kw: Any
) -> MeanEvaluator:
    """Mean accuracy over the *valid* splits of the analogy sets ``names`` (each set counts once)."""
    _check_names(names, [])
    return MeanEvaluator(
        [analogy_evaluator(n, "valid", data_dir, None, **kw) for n in names], name=name, report_only=report_only
    )


def evaluate_all(
    model: Any,
    data_dir: str | None = None,
    tasks: Sequence[str] = TASKS,
    analogy: Sequence[str] = ANALOGY_SUITE,
    lexical: Sequence[str] = LEXICAL_DATASETS,
    split: str = "test",
    max_items: int | None = None,
    batch_size: int = 64,
    show_progress_bar: bool | None = None,
    on_result: Callable[[str, str, dict[str, Any]], None] | None = None,
    classifier: str = "torch",
    stopping: str = "valid",
) -> dict[str, Any]:
    """Run every evaluator on one model, embedding each distinct pair once for the whole run.

    ``split`` applies to the analogy sets (sets without it are skipped: NELL has no ``valid``);
    classification always selects on its valid split and reports test; mapping has only test.
    ``max_items`` takes a seeded subset of every set (for smoke tests). ``on_result(task, name,
    metrics)`` is called after each evaluator. ``classifier``: how the classification grid is trained
    (``torch``, all configurations at once, or ``sklearn``, the reference) and, for ``torch``, its
    ``stopping`` rule (``valid``, or scikit-learn's ``loss``; see :mod:`relvec.evaluation.mlp_grid`). A
    ``.jsonl`` analogy set is
    reported under its file stem.
    """
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        raise ValueError(f"unknown tasks {unknown}; known: {', '.join(TASKS)}")
    _check_names(analogy, lexical)  # fail before any work, not halfway through
    cache = EmbeddingCache(model, batch_size=batch_size, show_progress_bar=show_progress_bar)
    results: dict[str, Any] = {t: {} for t in tasks}
    timing: dict[str, float] = {}
    grid = {"classifier": classifier, "stopping": stopping}
    jobs = _jobs(tasks, analogy, lexical, split, data_dir, max_items, batch_size, show_progress_bar, grid)
    for task, name, make in jobs:
        start = time.perf_counter()
        evaluator = make()
        if evaluator is None:
            continue
        metrics = evaluator(cache)
        if hasattr(model, "coverage"):  # static vectors: count out-of-vocabulary pairs
            metrics["coverage"] = model.coverage(evaluator.pairs())
        results[task][dataset_label(name)] = metrics
        timing[f"{task}/{name}"] = round(time.perf_counter() - start, 2)
        if on_result is not None:
            on_result(task, name, metrics)
    return {
        "model": str(getattr(model, "name_or_path", "") or type(model).__name__),
        "relvec_version": __version__,
        "split": split,
        "max_items": max_items,
        **results,
        "pairs_embedded": cache.pairs_encoded,
        "pairs_requested": cache.pairs_requested,
        "timing_s": timing,
    }


def _jobs(
    tasks: Sequence[str],
    analogy: Sequence[str],
    lexical: Sequence[str],
    split: str,
    data_dir: str | None,
    max_items: int | None,
    batch_size: int,
    show: bool | None,
    grid: dict[str, str],
) -> list[tuple[str, str, Callable[[], Any]]]:
    kw = {"batch_size": batch_size, "show_progress_bar": show}
    jobs: list[tuple[str, str, Callable[[], Any]]] = []
    if "analogy" in tasks:
        jobs += [("analogy", n, partial(_analogy_or_none, n, split, data_dir, max_items, **kw)) for n in analogy]
    if "lexical_relation" in tasks:
        make = partial(
            LexicalRelationEvaluator.from_dataset,
            data_dir=data_dir,
            max_examples=max_items,
            **grid,
            **kw,
        )
        jobs += [("lexical_relation", n, partial(make, n)) for n in lexical]
    if "relation_mapping" in tasks and split == "test":
        make = partial(RelationMappingEvaluator.from_dataset, None, data_dir, **kw)
        jobs.append(("relation_mapping", "relation_mapping", make))
    return jobs


def dataset_label(name: str) -> str:
    """How a set is named in results: its name, or a JSONL file's stem (not its whole path)."""
    return Path(name).stem if str(name).endswith(".jsonl") else str(name)


def _check_names(analogy: Sequence[str], lexical: Sequence[str]) -> None:
    bad = [n for n in analogy if n not in ANALOGY_SUITE and not str(n).endswith(".jsonl")]
    if bad:
        raise ValueError(f"unknown analogy sets {bad}; known: {', '.join(ANALOGY_SUITE)} or .jsonl paths")
    bad = [n for n in lexical if n not in LEXICAL_DATASETS and not Path(n).is_dir()]
    if bad:
        raise ValueError(f"unknown lexical-relation sets {bad}; known: {', '.join(LEXICAL_DATASETS)} or folders")


def _analogy_or_none(name: str, split: str, data_dir: str | None, max_items: int | None, **kw: Any) -> Any:
    if split == "valid" and name in ("sat_full", "nell_relational_similarity"):
        return None  # no validation split
    return analogy_evaluator(name, split, data_dir, max_items, **kw)


# ---------------------------------------------------------------------------- reports
def render_markdown(results: Sequence[dict[str, Any]]) -> str:
    """Paper-style tables with one row per result: analogy accuracy, classification F1, mapping accuracy."""
    if not results:
        raise ValueError("no results to render")
    sections = []
    labels = row_labels(results)
    analogy_sets = _ordered(results, "analogy", list(ANALOGY_SUITE))
    if analogy_sets:
        head = ["Model", *(_LABELS.get(n, n) for n in analogy_sets), "Average"]
        rows = []
        for label, r in zip(labels, results, strict=True):
            cells = [_pct(r.get("analogy", {}).get(n, {}).get("accuracy")) for n in analogy_sets]
            main = [r["analogy"][n]["accuracy"] for n in analogy_sets if n in r.get("analogy", {})]
            rows.append([label, *cells, _pct(sum(main) / len(main) if main else None)])
        split = results[0].get("split", "test")
        sections.append(_table(f"Analogy questions: accuracy ({split})", head, rows))
    lexical_sets = _ordered(results, "lexical_relation", list(LEXICAL_DATASETS))
    if lexical_sets:
        head = ["Model"] + [f"{n} {m}" for n in lexical_sets for m in ("macro", "micro")]
        rows = []
        for label, r in zip(labels, results, strict=True):
            cells = []
            for n in lexical_sets:
                metrics = r.get("lexical_relation", {}).get(n, {})
                cells += [_pct(metrics.get("f1_macro")), _pct(metrics.get("f1_micro"))]
            rows.append([label, *cells])
        sections.append(_table("Lexical relation classification: F1 on test", head, rows))
    if any(r.get("relation_mapping") for r in results):
        head = ["Model", "Accuracy", "Per-problem mean", "Problems solved"]
        rows = []
        for label, r in zip(labels, results, strict=True):
            m = r.get("relation_mapping", {}).get("relation_mapping", {})
            rows.append([label, _pct(m.get("accuracy")), _pct(m.get("accuracy_macro")), _pct(m.get("solved"))])
        sections.append(_table("Relation mapping: accuracy", head, rows))
    notes = _coverage_notes(results)
    if notes:
        sections.append("Out-of-vocabulary pairs (embedded as zero vectors):\n\n" + "\n".join(notes))
    return "\n\n".join(sections) + "\n"


def row_labels(results: Sequence[dict[str, Any]]) -> list[str]:
    """One label per result: its model, marked when it is a ``max_items`` subset or unfinished, and
    told apart (by its ``source`` file, else a number) when two results share a label."""
    labels = []
    for r in results:
        label = str(r.get("model", "?"))
        if r.get("max_items") is not None:
            label += f" (subset: {r['max_items']} per set)"
        if r.get("complete") is False:
            label += " (incomplete)"
        labels.append(label)
    repeated = {x for x in labels if labels.count(x) > 1}
    seen: dict[str, int] = {}
    for i, (label, r) in enumerate(zip(labels, results, strict=True)):
        if label in repeated:
            seen[label] = seen.get(label, 0) + 1
            labels[i] = f"{label} [{r.get('source') or f'#{seen[label]}'}]"
    return labels


def _coverage_notes(results: Sequence[dict[str, Any]]) -> list[str]:
    notes = []
    for r in results:
        counts = [
            (name, m["coverage"])
            for task in TASKS
            for name, m in (r.get(task) or {}).items()
            if isinstance(m, dict) and "coverage" in m
        ]
        if counts:
            cells = ", ".join(f"{_LABELS.get(n, n)} {c['oov_pairs']}/{c['pairs']}" for n, c in counts)
            notes.append(f"- {r['model']}: {cells}")
    return notes


def _ordered(results: Sequence[dict[str, Any]], task: str, preferred: list[str]) -> list[str]:
    present = list(dict.fromkeys(n for r in results for n in r.get(task, {}) or {}))
    return [n for n in preferred if n in present] + [n for n in present if n not in preferred]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _table(title: str, head: list[str], rows: list[list[str]]) -> str:
    lines = [
        f"### {title}",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
