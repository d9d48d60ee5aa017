"""Shared fixtures: a tiny BERT with a mask-token tokenizer, built in-process (offline)."""

from __future__ import annotations

import contextlib
import json
import os
import string
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = "i wasn aware of this relationship but just read in the encyclopedia that is today finally discovered"
WORDS += " relation between and s"


def _vocab() -> list[str]:
    chars = list(string.ascii_lowercase + string.digits) + list(",.:;'’!?-")
    pieces = [f"##{c}" for c in string.ascii_lowercase + string.digits]
    return list(dict.fromkeys([*SPECIAL, *chars, *pieces, *WORDS.split()]))


def build_tiny_backbone(folder: Path, seed: int = 0, dropout: float = 0.1) -> Path:
    """Write a 2-layer BERT (hidden 32) and its WordPiece tokenizer to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = _vocab()
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_backbone(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture()
def tiny_encoder(tiny_dir: Path):
    from relvec import RelationEncoder

    return RelationEncoder.from_pretrained(tiny_dir, device="cpu")


def tiny_training_args(output_dir: Path, backbone: Path, data: Path, **overrides):
    """Training arguments for a run of seconds on the tiny backbone (5 relations, fp32)."""
    from relvec.training import TrainingArguments

    base = dict(
        backbone=str(backbone),
        data=str(data),
        output_dir=str(output_dir),
        epochs=2,
        num_positive=3,
        num_negative=4,
        chunk_size=4,
        learning_rate=1e-3,
        warmup_steps=1,
        validation_questions_per_relation=2,
        precision="fp32",
    )
    return TrainingArguments(**{**base, **overrides})


def write_jsonl(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture()
def relation_data(tmp_path: Path) -> Path:
    """A small relation-similarity folder (train/valid) in the SemEval-2012 schema."""
    words = [f"{a}{b}" for a in "bcdfg" for b in "aeiou"]
    relations = {}
    for r, parent in enumerate(["1a", "1b", "2a", "2b", "3a"]):
        base = r * 5
        relations[parent] = [(words[(base + i) % 25], words[(base + 2 * i + 1) % 25]) for i in range(6)]
    rows = {"train": [], "valid": []}
    for name, pairs in relations.items():
        others = [p for other, ps in relations.items() if other != name for p in ps[:4]]
        rows["train"].append({"relation_type": name, "positives": pairs[:4], "negatives": others[:6]})
        rows["valid"].append({"relation_type": name, "positives": pairs[4:], "negatives": others[6:10]})
    folder = tmp_path / "semeval"
    for split, data in rows.items():
        write_jsonl(folder / f"{split}.jsonl", data)
    return folder


class WordOffsetEncoder:
    """A deterministic fake encoder: emb(a, b) = v(b) - v(a) for fixed word vectors; counts what it embeds.

    Unknown words get a vector derived from a stable hash of the word, so any pair can be embedded.
    """

    def __init__(self, vectors: dict | None = None, dim: int = 8, name: str = "fake") -> None:
        import numpy as np

        self.vectors = {w: np.asarray(v, dtype=np.float64) for w, v in (vectors or {}).items()}
        self.embedding_dim = dim if not self.vectors else len(next(iter(self.vectors.values())))
        self.name_or_path = name
        self.encoded: list[tuple[str, str]] = []

    def vector(self, word: str):
        import zlib

        import numpy as np

        if word not in self.vectors:
            rng = np.random.default_rng(zlib.crc32(word.encode()))
            self.vectors[word] = rng.normal(size=self.embedding_dim)
        return self.vectors[word]

    def encode(self, pairs, batch_size=64, normalize=False, show_progress_bar=None, **kwargs):
        import numpy as np

        pairs = [tuple(p) for p in pairs]
        self.encoded += pairs
        out = np.stack([self.vector(b) - self.vector(a) for a, b in pairs]).astype(np.float32)
        if normalize:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


@pytest.fixture()
def suite_data(tmp_path: Path, relation_data: Path) -> Path:
    """A miniature data directory with every kind of benchmark the evaluation suite reads."""
    import shutil

    root = tmp_path / "data"
    shutil.copytree(relation_data, root / "semeval2012")
    question = {"stem": ["cat", "kitten"], "answer": 1, "choice": [["sun", "planet"], ["dog", "puppy"]], "prefix": "p"}
    write_jsonl(root / "analogy" / "sat_full" / "test.jsonl", [question] * 3)
    write_jsonl(root / "analogy" / "u2" / "valid.jsonl", [question])
    labels = {"hyper": ("animal", 0), "mero": ("part", 1), "random": ("thing", 2)}
    for split, size in (("train", 12), ("valid", 4), ("test", 6)):
        rows = [
            {"head": f"{name}{i}{split}", "tail": f"{word}{i}", "relation": name}
            for name, (word, _) in labels.items()
            for i in range(size)
        ]
        write_jsonl(root / "lexical_relation" / "BLESS" / f"{split}.jsonl", rows)
    mapping = {
        "id": "t1",
        "reference": ["sun", "nucleus"],
        "source": ["sun", "planet", "gravity"],
        "target": ["nucleus", "electron", "charge"],
        "target_random": ["charge", "nucleus", "electron"],
        "agreement": [90.0, 80.0, 70.0, 60.0],
        "pos": ["nn", "nn", "nn"],
    }
    write_jsonl(root / "relation_mapping" / "test.jsonl", [mapping])
    return root


@contextlib.contextmanager
def running_server(app, timeout: float = 20.0):
    """Run ``app`` on a real uvicorn bound to 127.0.0.1 (a free port) in a thread; yield its base URL."""
    import threading
    import time

    uvicorn = pytest.importorskip("uvicorn")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def assert_same_top(found, truth, k, atol=1e-5):
    """Tie-aware check of a top-k answer: ``found`` is [(item, score)] best first, ``truth`` maps every candidate
    to its true score. The scores must be the true top k (within ``atol``) and each item must carry its own true
    score; items whose scores tie (within ``atol``) may come in any order, as CPUs order exact ties differently."""
    items = [item for item, _ in found]
    assert len(items) == len(set(items)) == min(k, len(truth)), items
    best = sorted(truth.values(), reverse=True)[:k]
    np.testing.assert_allclose([score for _, score in found], best, atol=atol)
    for item, score in found:
        assert abs(truth[item] - score) <= atol, (item, score, truth[item])


def tiny_distill_arguments(data_dir, output, **overrides):
    """The distillation settings of the tests: a 200-pair run of a 16-unit network, selected on U2 valid."""
    from relvec.distill import DistillArguments

    settings = dict(
        teacher="tiny",
        output_dir=str(output),
        data_dir=str(data_dir),
        pairs=200,
        random_share=0.3,
        neighbour_share=0.2,
        hidden=16,
        rank=4,
        epochs=2,
        batch_size=32,
        shard_size=100,
        select_sets="u2",
    )
    return DistillArguments(**(settings | overrides))
