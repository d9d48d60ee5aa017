"""Slow quality check: a short fine-tune of the real MiniLM must beat the untuned backbone on
held-out SemEval relation pairs (validation questions; no analogy test data involved)."""

import os

import pytest

from relvec import RelationEncoder
from relvec.data import load_relation_similarity
from relvec.evaluation import AnalogyEvaluator
from relvec.recipes import train
from relvec.training import TrainingArguments, validation_questions

DATA = os.environ.get("RELVEC_DATA")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.integration,
    pytest.mark.skipif(not DATA or not os.path.isdir(DATA), reason="RELVEC_DATA not set"),
]


def test_short_finetune_beats_untuned_on_heldout_relations(tmp_path):
    questions = validation_questions(load_relation_similarity("semeval2012", "valid"), per_relation=3, seed=1)
    evaluator = AnalogyEvaluator(questions)
    untuned = evaluator(RelationEncoder.from_pretrained("minilm", device="cpu"))["accuracy"]
    args = TrainingArguments.from_preset(
        "quick", epochs=1, num_negative=16, learning_rate=5e-5, output_dir=str(tmp_path / "run"), seed=0
    )
    tuned = evaluator(train(args, show_progress_bar=False))["accuracy"]
    assert tuned > untuned + 0.05, (untuned, tuned)
