"""Model cards: the ``README.md`` of a saved folder in the Hugging Face format.

A card is YAML metadata (library name, base model, datasets, tags, license, a ``model-index`` with results)
followed by a Markdown body: what the model is, how to load it (relvec, plain ``AutoModel``,
sentence-transformers), the training arguments and the evaluation results. The results sit between two
HTML comments so :func:`update_card` can replace them (and the ``model-index``) after an evaluation.
A README without relvec's mark is the user's own and is never overwritten.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from relvec.extras import require
from relvec.files import write_text

CARD_FILE = "README.md"
CARD_MARK = "<!-- relvec model card -->"
RESULTS_START, RESULTS_END = "<!-- relvec:results -->", "<!-- /relvec:results -->"
SEMEVAL_DATASET = "relbert/semeval2012_relational_similarity"
_LICENSES = {
    "sentence-transformers/all-MiniLM-L6-v2": "apache-2.0",
    "sentence-transformers/all-mpnet-base-v2": "apache-2.0",
    "roberta-base": "mit",
    "roberta-large": "mit",
}
# (task key in evaluate_all results, task type, task name, dataset type, [(metric key, metric type, name)])
_TASKS = (
    (
        "analogy",
        "analogy-questions",
        "Analogy questions",
        "relbert/analogy_questions",
        [("accuracy", "accuracy", "Accuracy")],
    ),
    (
        "lexical_relation",
        "lexical-relation-classification",
        "Lexical relation classification",
        "relbert/lexical_relation_classification",
        [("f1_micro", "f1", "Micro F1"), ("f1_macro", "f1_macro", "Macro F1")],
    ),
    (
        "relation_mapping",
        "relation-mapping",
        "Relation mapping",
        "relbert/relation_mapping",
        [("accuracy", "accuracy", "Accuracy")],
    ),
)


def model_index(name: str, results: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The ``model-index`` entry for ``evaluate_all``-style results (empty without results)."""
    entries = []
    for key, task_type, task_name, dataset_type, metrics in _TASKS:
        for dataset, values in sorted((results or {}).get(key, {}).items()):
            found = [
                {"type": kind, "value": round(float(values[m]), 4), "name": label}
                for m, kind, label in metrics
                if isinstance(values, Mapping) and values.get(m) is not None
            ]
            if found:
                split = "test" if key != "analogy" else str((results or {}).get("split", "test"))
                entries.append(
                    {
                        "task": {"type": task_type, "name": task_name},
                        "dataset": {"name": dataset, "type": dataset_type, "config": dataset, "split": split},
                        "metrics": found,
                    }
                )
    return [{"name": name, "results": entries}] if entries else []


def render_card(
    name: str,
    description: str,
    usage: str,
    base_model: str | None = None,
    training: Mapping[str, Any] | None = None,
    results: Mapping[str, Any] | None = None,
    results_markdown: str = "",
) -> str:
    """The whole ``README.md`` text (see the module docstring)."""
    trained = bool(training)
    meta: dict[str, Any] = {"library_name": "relvec"}
    if base_model and not Path(base_model).is_absolute():
        meta["base_model"] = base_model
    if base_model in _LICENSES:
        meta["license"] = _LICENSES[base_model]
    data = str(((training or {}).get("arguments") or {}).get("data", ""))
    if trained and data == "semeval2012":
        meta["datasets"] = [SEMEVAL_DATASET]
    meta["tags"] = ["relvec", "relation-embedding", "relbert", "word-pairs", "analogy"]
    meta["pipeline_tag"] = "feature-extraction"
    index = model_index(name, results)
    if index:
        meta["model-index"] = index
    body = [CARD_MARK, f"# {name}", "", description, "", "## Usage", "", usage]
    if trained:
        body += ["", "## Training", "", _training_section(training or {})]
    body += ["", "## Evaluation", "", RESULTS_START, results_markdown.strip() or _NO_RESULTS, RESULTS_END]
    body += ["", "## Citation", "", _CITATION]
    return f"---\n{_yaml_dump(meta)}---\n\n" + "\n".join(body) + "\n"


_NO_RESULTS = "Not evaluated yet: `relvec eval all --model FOLDER --update-card` fills this section."
_CITATION = (
    "RelBERT: Asahi Ushio, Jose Camacho-Collados and Steven Schockaert. *Distilling Relation Embeddings from "
    "Pretrained Language Models.* EMNLP 2021."
)


def _training_section(training: Mapping[str, Any]) -> str:
    args = training.get("arguments") or {}
    lines = ["| argument | value |", "|---|---|"]
    lines += [f"| {k} | {_cell(v)} |" for k, v in args.items() if v not in (None, [], {}) and k != "output_dir"]
    history = training.get("history") or []
    if history:
        keys = [k for k in history[0] if k != "epoch"]
        lines += ["", "| epoch | " + " | ".join(keys) + " |", "|---:|" + "---:|" * len(keys)]
        lines += [f"| {h.get('epoch')} | " + " | ".join(_cell(h.get(k)) for k in keys) + " |" for h in history]
    lines += _kept_line(training, args)
    return "\n".join(lines)


def _kept_line(training: Mapping[str, Any], args: Mapping[str, Any]) -> list[str]:
    """Which weights the folder holds: the mean of the last epochs, or the selected epoch and on what."""
    average = training.get("average")
    if isinstance(average, Mapping) and average.get("epochs"):
        epochs = average["epochs"]
        return ["", f"Kept: the mean of the weights after epochs {epochs[0]}–{epochs[-1]}."]
    if training.get("best_epoch") is None:
        return []
    sets = args.get("select_sets", "the analogy sets")
    how = {
        "analogy_valid": f"best on the mean accuracy on the valid splits of {sets}",
        "last": "being the last epoch",
    }.get(str(args.get("select_on")), "best on the SemEval-2012 validation questions")
    return ["", f"Kept: epoch {training['best_epoch']} ({how})."]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _yaml_dump(meta: Mapping[str, Any]) -> str:
    """The card's metadata as YAML in flow style (JSON, which every YAML reader takes), so no YAML library is needed."""
    return json.dumps(dict(meta), indent=2, ensure_ascii=False) + "\n"


def is_relvec_card(path: str | Path) -> bool:
    """True when ``path`` holds a card relvec wrote (so relvec may rewrite it)."""
    path = Path(path)
    return path.is_file() and CARD_MARK in path.read_text(encoding="utf-8", errors="replace")


def write_card(staging: str | Path, target: str | Path, text: str) -> Path | None:
    """Write the card into ``staging`` (the folder a save fills before moving it into ``target``) unless
    ``target`` holds a README that relvec did not write (None then)."""
    existing = Path(target) / CARD_FILE
    if existing.exists() and not is_relvec_card(existing):
        return None
    return write_text(Path(staging) / CARD_FILE, text)


def split_card(text: str) -> tuple[dict[str, Any], str]:
    """(YAML metadata, body) of a card (metadata relvec wrote is JSON; a hand-edited card may need PyYAML)."""
    if not text.startswith("---\n"):
        return {}, text
    head, sep, body = text[4:].partition("\n---\n")
    if not sep:
        return {}, text
    try:
        meta = json.loads(head)
    except ValueError:
        meta = require("yaml", "reading a hand-edited card's YAML metadata").safe_load(head) or {}
    if not isinstance(meta, dict):
        raise ValueError("the card's YAML metadata is not a mapping")
    return meta, body.lstrip("\n")


def update_card(folder: str | Path, name: str, results: Mapping[str, Any], results_markdown: str) -> Path:
    """Put new results into a relvec card: the ``model-index`` and the Evaluation section."""
    path = Path(folder) / CARD_FILE
    if not is_relvec_card(path):
        raise ValueError(f"{path}: no relvec model card to update (save the model with relvec first)")
    meta, body = split_card(path.read_text(encoding="utf-8"))
    index = model_index(name, results)
    if index:
        meta["model-index"] = _merge_index(meta.get("model-index") or [], index)
    start, end = body.find(RESULTS_START), body.find(RESULTS_END)
    if start < 0 or end < start:
        raise ValueError(f"{path}: the card has lost its results marks ({RESULTS_START} … {RESULTS_END})")
    body = body[: start + len(RESULTS_START)] + "\n" + results_markdown.strip() + "\n" + body[end:]
    return write_text(path, f"---\n{_yaml_dump(meta)}---\n\n{body}")


def _merge_index(old: Sequence[Any], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """New results replace old ones for the same task and dataset; other old results stay."""

    def key(r: Mapping[str, Any]) -> tuple[str, str, str]:
        return r["task"]["type"], r["dataset"]["config"], r["dataset"]["split"]

    fresh = {key(r): r for r in new[0]["results"]}
    kept = [r for entry in old if isinstance(entry, Mapping) for r in entry.get("results", []) if key(r) not in fresh]
    return [{"name": new[0]["name"], "results": [*kept, *fresh.values()]}]
