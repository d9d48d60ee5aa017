"""The open-completion benchmark's protocol (benchmarks/completion_eval.py) on a toy vocabulary: which questions
become open ones, the usual exclusion of A, B and C, and a target outside the vocabulary counted as a miss."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from completion_eval import accuracy, open_questions

from relvec.completion import AnalogyCompleter
from relvec.encoders.offset import OffsetEncoder, WordVectors

WORDS = ["man", "woman", "king", "queen", "apple", "pear"]
MATRIX = np.array(
    [[0, 0, 1, 0], [0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 1, 0], [0, 0, 0, 1], [0, 0.1, 0, 1]], dtype=np.float32
)


def write(root: Path, name: str, questions: list) -> None:
    folder = root / "analogy" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    def question(stem, choices, answer):
        return {"stem": stem, "choice": choices, "answer": answer}

    write(
        tmp_path,
        "google",
        [
            question(["man", "king"], [["apple", "pear"], ["woman", "queen"]], 1),
            question(["man", "king"], [["woman", "empress"], ["apple", "pear"]], 0),
        ],
    )
    write(
        tmp_path,
        "sat_full",
        [
            question(["man", "king"], [["woman", "queen"], ["apple", "pear"]], 0),
            question(["man", "king"], [["woman", "empress"], ["apple", "pear"]], 0),
        ],
    )
    return tmp_path


def test_which_questions_are_open_and_how_they_are_scored(data):
    vocabulary = set(WORDS)
    google = open_questions("google", "test", str(data), vocabulary)
    sat = open_questions("sat_full", "test", str(data), vocabulary)
    assert google == [(("man", "king"), "woman", "queen"), (("man", "king"), "woman", "empress")]  # every one
    assert sat == [(("man", "king"), "woman", "queen")]  # only where D is in the vocabulary
    vectors = WordVectors(WORDS, MATRIX, name="toy")
    completer = AnalogyCompleter(OffsetEncoder(vectors), WORDS, vectors, method="add", candidates=0)
    result = accuracy(completer, google)
    assert result["acc@1"] == 50.0 and result["questions"] == 2  # "empress" is outside: a miss
    # A, B and C are never answers: man:man :: woman:? has woman first by arithmetic, yet it is excluded
    assert accuracy(completer, [(("man", "man"), "woman", "woman")])["acc@10"] == 0.0
    again = accuracy(completer, google)
    assert (again["acc@1"], again["acc@10"]) == (result["acc@1"], result["acc@10"])  # reproducible
