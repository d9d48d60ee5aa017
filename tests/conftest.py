"""Shared fixtures: a tiny BERT with a mask-token tokenizer, built in-process (offline)."""

from __future__ import annotations

import json
import os
import string
from pathlib import Path

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
