"""A relation classifier you can keep: the evaluation suite's MLP on frozen relation embeddings, fitted,
saved and applied to new pairs.

``RelationClassifier.fit`` builds the same features as the suite (emb(h, t) ⊕ emb(t, h)), trains the paper's
grid with :class:`relvec.evaluation.mlp_grid.TorchMLPGrid` and keeps the configuration with the best
validation micro-F1 (without validation data: the suite's default configuration), so its test predictions
are the suite's for the same model, data and seed.

A saved classifier is a folder of ``classifier.safetensors`` (the MLP) and ``relvec_classifier.json`` (labels,
the selected configuration, the embedding model's spec and identity: name, dimension and fingerprint).
Loading checks the embedding model against that identity and refuses another one; nothing is unpickled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from relvec.cards import CARD_MARK, write_card
from relvec.data import LexicalExample
from relvec.encoders.base import validate_pairs
from relvec.evaluation.classification import DEFAULT_CONFIG, grid_configurations, pair_features, select_best
from relvec.evaluation.mlp_grid import TorchMLPGrid, predict_logits
from relvec.files import FileFormatError, read_json, read_safetensors, short_repr, write_dir, write_json
from relvec.loading import load_named_model, localize, model_identity, reference_for, same_model
from relvec.precision import resolve_precision
from relvec.version import __version__

CLASSIFIER_CONFIG = "relvec_classifier.json"
CLASSIFIER_WEIGHTS = "classifier.safetensors"
CLASSIFIER_FORMAT = 1
_PARAM_NAMES = ("w1", "b1", "w2", "b2")


class RelationClassifier:
    """Label word pairs with relations (hypernym, meronym, antonym, …) from their relation embeddings."""

    def __init__(
        self,
        model: Any,
        labels: Sequence[str],
        params: Sequence[torch.Tensor],
        config: Mapping[str, Any],
        identity: Mapping[str, Any] | None = None,
        batch_size: int = 64,
    ) -> None:
        self.model = model
        self.labels = list(labels)
        self.params = [p.detach().float().contiguous() for p in params]
        self.config = dict(config)
        self.identity = dict(identity) if identity is not None else model_identity(model)
        self.batch_size = batch_size
        if self.params[0].shape[0] != 2 * int(model.embedding_dim) or len(self.params[3]) != len(self.labels):
            raise ValueError(
                f"the MLP takes {self.params[0].shape[0]} features and gives {len(self.params[3])} labels, but the "
                f"model embeds {model.embedding_dim} (x2) and there are {len(self.labels)} labels"
            )

    @classmethod
    def fit(
        cls,
        model: Any,
        train: Sequence[Any],
        valid: Sequence[Any] | None = None,
        grid: Mapping[str, Sequence[Any]] | None = None,
        seed: int = 0,
        max_iter: int = 200,
        stopping: str = "valid",
        batch_size: int = 64,
        show_progress_bar: bool | None = None,
    ) -> RelationClassifier:
        """Fit on ``train`` (records with head, tail, relation: :class:`LexicalExample` or mappings); with
        ``valid``, the paper's grid is searched on it, else the default configuration is trained."""
        train_items, valid_items = _examples(train, "train"), _examples(valid, "valid") if valid else None
        labels = sorted({e.relation for e in train_items})
        for i, e in enumerate(train_items):
            if label_problem(e.relation):
                raise ValueError(
                    f"train record {i}: relation label {short_repr(e.relation)} {label_problem(e.relation)}"
                )
        if len(labels) < 2:
            raise ValueError(f"the training data needs at least two relations, got {labels}")
        unseen = sorted({e.relation for e in valid_items or []} - set(labels))
        if unseen:
            raise ValueError(f"relations {short_repr(unseen)} appear in valid but not in train")
        index = {label: i for i, label in enumerate(labels)}
        splits = {"train": train_items, **({"valid": valid_items} if valid_items else {})}
        features = pair_features(model, splits, batch_size, show_progress_bar)
        configs = grid_configurations(grid) if valid_items else [dict(DEFAULT_CONFIG)]
        y = {split: np.array([index[e.relation] for e in items]) for split, items in splits.items()}
        search = TorchMLPGrid(configs, seed=seed, max_iter=max_iter, stopping=stopping)
        held = {"x_valid": features["valid"], "y_valid": y["valid"]} if valid_items else {}
        runs = search.fit_predict(features["train"], y["train"], features["train"][:0], **held)
        best = runs[select_best([r.valid_f1_micro for r in runs])]
        config = {**best.config, "valid_f1_micro": best.valid_f1_micro, "epochs": best.epochs, "seed": seed}
        return cls(model, labels, best.params, config, batch_size=batch_size)

    # ------------------------------------------------------------------ applying
    def predict_proba(self, pairs: Any) -> np.ndarray:
        """(n, K) label probabilities, columns in :attr:`labels` order (a single pair: (K,))."""
        checked, single = validate_pairs(pairs)
        items = [LexicalExample(h, t, "") for h, t in checked]
        x = pair_features(self.model, {"x": items}, self.batch_size, show_progress_bar=False)["x"]
        precision = resolve_precision("auto", torch.device("cpu"))  # as the grid that fitted it
        probs = torch.softmax(predict_logits(self.params, torch.from_numpy(x), precision), dim=-1).numpy()
        return probs[0] if single else probs

    def predict(self, pairs: Any) -> list[str] | str:
        """The most probable label of each pair (a single pair: its label)."""
        probs = self.predict_proba(pairs)
        if probs.ndim == 1:
            return self.labels[int(probs.argmax())]
        return [self.labels[i] for i in probs.argmax(axis=1)]

    # ------------------------------------------------------------------ saving
    def save_pretrained(self, directory: str | Path) -> Path:
        """Write the folder atomically: safetensors weights, then the JSON side file."""
        info = {
            "format_version": CLASSIFIER_FORMAT,
            "relvec_version": __version__,
            "labels": self.labels,
            "config": self.config,
            "embedding_model": {**self.identity, **reference_for(str(self.identity.get("name", "")), directory)},
        }

        def write(staging: Path) -> None:
            tensors = dict(zip(_PARAM_NAMES, self.params, strict=True))
            save_file(tensors, str(staging / CLASSIFIER_WEIGHTS))
            write_card(staging, directory, classifier_card(self, Path(directory)))
            write_json(staging / CLASSIFIER_CONFIG, info)

        return write_dir(directory, write)

    @classmethod
    def from_pretrained(cls, directory: str | Path, model: Any | None = None, **load_kwargs: Any) -> RelationClassifier:
        """Load a saved classifier; ``model`` (else the spec it names, loaded with :func:`load_model`) must be
        the embedding model it was fitted on."""
        folder = Path(directory)
        info = read_classifier_config(folder)
        identity = localize(info["embedding_model"], folder)
        if model is None:
            model = load_named_model(identity, folder, **load_kwargs)
        if not same_model(model_identity(model), identity):
            raise ValueError(
                f"{folder} was fitted on embedding model {short_repr(identity.get('name'))} "
                f"({identity.get('embedding_dim')} dimensions); {short_repr(getattr(model, 'name_or_path', model))} "
                "embeds pairs differently (its fingerprint differs), so its predictions would be meaningless"
            )
        tensors = read_safetensors(folder / CLASSIFIER_WEIGHTS)
        missing = [n for n in _PARAM_NAMES if n not in tensors]
        if missing:
            raise FileFormatError(f"{folder / CLASSIFIER_WEIGHTS}: missing tensors {missing}")
        for name in _PARAM_NAMES:
            tensor = tensors[name]
            if tensor.dtype != torch.float32 or not bool(torch.isfinite(tensor).all()):
                raise FileFormatError(f"{folder / CLASSIFIER_WEIGHTS}: tensor {name!r} must be finite float32")
        return cls(model, info["labels"], [tensors[n] for n in _PARAM_NAMES], info["config"], identity)


def describe(classifier: RelationClassifier) -> str:
    """One readable line: labels, validation score and the chosen MLP."""
    labels = ", ".join(classifier.labels[:8]) + (", …" if len(classifier.labels) > 8 else "")
    config = classifier.config
    score = config.get("valid_f1_micro")
    shown = "no validation data" if score is None else f"valid micro-F1 {100 * score:.1f}"
    mlp = f"MLP {config.get('hidden_layer_sizes')} hidden, learning rate {config.get('learning_rate_init')}"
    return f"{len(classifier.labels)} labels ({labels}); {shown}; {mlp}, {config.get('epochs', '?')} epochs"


def classifier_card(classifier: RelationClassifier, directory: Path) -> str:
    """The ``README.md`` of a saved classifier folder: what it labels, with what, and how to use it."""
    name = str(classifier.identity.get("name", "?"))
    lines = [
        "---",
        "library_name: relvec",
        "tags: [relvec, relation-classification, word-pairs]",
        "pipeline_tag: text-classification",
        "---",
        "",
        CARD_MARK,
        f"# {directory.name}",
        "",
        f"A relvec relation classifier: an MLP over the relation embeddings of `{name}` "
        f"({classifier.identity.get('embedding_dim')} dimensions) that labels a word pair (head, tail) with one of "
        f"{len(classifier.labels)} relations: {', '.join(f'`{x}`' for x in classifier.labels)}.",
        "",
        f"Fitted: {describe(classifier)}.",
        "",
        "## Usage",
        "",
        f"`relvec classify predict {directory.name} cat:animal wheel:car` (add `--json` for every probability).",
        "",
        "```python",
        "from relvec.classifier import RelationClassifier",
        "",
        f'classifier = RelationClassifier.from_pretrained("{directory.name}")',
        'classifier.predict([("cat", "animal"), ("wheel", "car")])',
        "```",
        "",
        "Loading checks that the embedding model is the one it was fitted on (a fingerprint of probe pairs); "
        "the model is found next to the folder or named with `--model`, never downloaded.",
    ]
    return "\n".join(lines) + "\n"


def read_classifier_config(folder: str | Path) -> dict[str, Any]:
    """The side file of a saved classifier, checked (format version, fields)."""
    path = Path(folder) / CLASSIFIER_CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{folder} is not a saved relation classifier (no {CLASSIFIER_CONFIG})")
    info = read_json(path)
    if not isinstance(info, dict) or info.get("format_version") != CLASSIFIER_FORMAT:
        version = info.get("format_version") if isinstance(info, dict) else None
        raise FileFormatError(f"{path}: unsupported format_version {version!r} (this relvec reads {CLASSIFIER_FORMAT})")
    for key, kind in (("labels", list), ("config", dict), ("embedding_model", dict)):
        if not isinstance(info.get(key), kind):
            raise FileFormatError(f"{path}: field {key!r} must be a {kind.__name__}")
    for i, label in enumerate(info["labels"]):
        problem = "is not a string" if not isinstance(label, str) else label_problem(label)
        if problem:
            raise FileFormatError(f"{path}: label {i} ({short_repr(label)}) {problem}")
    if len(set(info["labels"])) != len(info["labels"]):
        raise FileFormatError(f"{path}: labels repeat")
    return info


def label_problem(label: str) -> str | None:
    """Why ``label`` cannot be a relation label (empty, or control characters that would forge output lines)."""
    if not label.strip():
        return "is empty"
    if not label.isprintable():
        return "holds a control character (newline, tab, …)"
    return None


def _examples(records: Sequence[Any] | None, split: str) -> list[LexicalExample]:
    """Records as :class:`LexicalExample`; a record that is neither names its index."""
    out = []
    for i, r in enumerate(records or []):
        if isinstance(r, LexicalExample):
            out.append(r)
        elif isinstance(r, Mapping) and all(isinstance(r.get(k), str) for k in ("head", "tail", "relation")):
            out.append(LexicalExample(r["head"], r["tail"], r["relation"]))
        else:
            raise ValueError(f"{split} record {i}: expected head, tail and relation strings, got {short_repr(r)}")
    validate_pairs([(e.head, e.tail) for e in out])
    if not out:
        raise ValueError(f"the {split} data is empty")
    return out
