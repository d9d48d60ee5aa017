"""Nothing relvec reads may unpickle: a malicious pickle planted in any folder relvec reads never runs.

The payload writes a marker file when unpickled. It is planted under every name a PyTorch/HF tool
might load (beside the real files), and in place of relvec's own tensor and array files.
"""

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

from relvec import RelationEncoder
from relvec.recipes import train
from relvec.training.checkpoint import CHECKPOINT

from conftest import tiny_training_args

PICKLE_NAMES = (
    "pytorch_model.bin",
    "optimizer.pt",
    "scheduler.pt",
    "rng_state.pth",
    "training_args.bin",
    "model.pkl",
    "vectors.pkl",
)
PAIRS = [("cat", "kitten"), ("dog", "puppy")]


class Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",)


@pytest.fixture()
def marker(tmp_path):
    return tmp_path / "PWNED"


def _plant(folder: Path, marker: Path) -> None:
    for name in PICKLE_NAMES:
        (folder / name).write_bytes(pickle.dumps({"state": Payload(marker)}))


def _replace_with_pickle(path: Path, marker: Path) -> None:
    if path.suffix == ".npy":
        np.save(path, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    else:
        path.write_bytes(pickle.dumps(Payload(marker)))


def _try(action) -> None:
    """Run ``action``; refusing the planted file with an error is fine, running it is not."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            action()
    except Exception:
        pass


def test_pickles_beside_and_instead_of_model_files_never_run(tmp_path, tiny_encoder, marker):
    from relvec.encoders.offset import OffsetEncoder, WordVectors
    from relvec.loading import load_model
    from relvec.search import RelationIndex

    model_dir = tiny_encoder.save_pretrained(tmp_path / "model")
    vectors = WordVectors(["cat", "kitten", "dog", "puppy"], np.eye(4, dtype=np.float32))
    static_dir = OffsetEncoder(vectors).save_pretrained(tmp_path / "static")
    from relvec.encoders.hybrid import HybridEncoder

    hybrid_dir = HybridEncoder(tiny_encoder, OffsetEncoder(vectors), 1.0).save_pretrained(tmp_path / "hybrid")
    index_dir = RelationIndex.build(tiny_encoder, PAIRS).save(tmp_path / "index")
    for folder in (model_dir, static_dir, hybrid_dir, hybrid_dir / "prompt", hybrid_dir / "static", index_dir):
        _plant(folder, marker)
    _try(lambda: load_model(str(model_dir)).encode(PAIRS))
    _try(lambda: load_model(str(static_dir)).encode(PAIRS))
    _try(lambda: load_model(str(hybrid_dir)).encode(PAIRS))
    _try(lambda: RelationIndex.load(index_dir).query(tiny_encoder, PAIRS, k=1))
    assert not marker.exists()
    # now in place of the real files
    (model_dir / "model.safetensors").unlink()
    _replace_with_pickle(static_dir / "vectors.npy", marker)
    _replace_with_pickle(index_dir / "vectors.npy", marker)
    _replace_with_pickle(hybrid_dir / "prompt" / "model.safetensors", marker)
    _try(lambda: RelationEncoder.from_pretrained(model_dir))
    _try(lambda: load_model(str(static_dir)).encode(PAIRS))
    _try(lambda: load_model(str(hybrid_dir)).encode(PAIRS))
    _try(lambda: RelationIndex.load(index_dir))
    assert not marker.exists()
    with pytest.raises(ValueError, match=r"vectors\.npy"):
        load_model(str(static_dir))


def test_pickles_in_a_checkpoint_never_run_on_resume(tmp_path, tiny_dir, relation_data, marker):
    args = tiny_training_args(tmp_path / "run", tiny_dir, relation_data, epochs=1, keep_checkpoint=True)
    train(args, show_progress_bar=False)
    checkpoint = Path(args.output_dir) / CHECKPOINT
    (Path(args.output_dir) / "history.json").unlink()  # as if the finish had not happened yet
    _plant(checkpoint, marker)
    _try(lambda: train(args, resume=True, show_progress_bar=False))
    for name in ("optimizer.safetensors", "model.safetensors"):
        _replace_with_pickle(checkpoint / name, marker)
        _try(lambda: train(args, resume=True, show_progress_bar=False))
    assert not marker.exists()


def test_pickles_in_a_prompt_search_folder_never_run(tmp_path, tiny_encoder, marker):
    from relvec.encoders.prompt import PROMPT_ENCODER_FILE
    from relvec.loading import load_model
    from relvec.prompts import PromptShape
    from relvec.training.prompt_search import attach_prompt_encoder

    attach_prompt_encoder(tiny_encoder, PromptShape.parse("1,1,1"))
    folder = tiny_encoder.save_pretrained(tmp_path / "ptuning")
    _plant(folder, marker)
    _try(lambda: load_model(str(folder)).encode(PAIRS))
    _replace_with_pickle(folder / PROMPT_ENCODER_FILE, marker)
    _try(lambda: load_model(str(folder)).encode(PAIRS))
    assert not marker.exists()


def test_pickles_in_classifier_projection_and_vocabulary_cache_never_run(tmp_path, tiny_encoder, marker):
    import torch

    from relvec.classifier import RelationClassifier
    from relvec.completion import VocabularyVectors
    from relvec.encoders.hybrid import HybridEncoder
    from relvec.encoders.offset import OffsetEncoder, WordVectors

    words = ["cat", "kitten", "dog", "puppy", "car", "wheel"]
    vectors = WordVectors(words, np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32), name="toy")
    train = [
        {"head": h, "tail": t, "relation": r}
        for h, t, r in [
            ("cat", "kitten", "young"),
            ("dog", "puppy", "young"),
            ("car", "wheel", "part"),
            ("wheel", "car", "whole"),
        ]
    ]
    folder = RelationClassifier.fit(tiny_encoder, train).save_pretrained(tmp_path / "clf")
    _plant(folder, marker)
    _try(lambda: RelationClassifier.from_pretrained(folder, model=tiny_encoder).predict(PAIRS))
    _replace_with_pickle(folder / "classifier.safetensors", marker)
    _try(lambda: RelationClassifier.from_pretrained(folder, model=tiny_encoder).predict(PAIRS))
    hybrid = HybridEncoder(tiny_encoder, OffsetEncoder(vectors), 0.5)
    hybrid.set_projection(torch.eye(hybrid.joined_dim))
    saved = hybrid.save_pretrained(tmp_path / "hybrid")
    _replace_with_pickle(saved / "projection.safetensors", marker)
    _try(lambda: HybridEncoder.from_pretrained(saved).encode(PAIRS))
    cache = tmp_path / "cache"
    VocabularyVectors.build(vectors, words, cache)
    for path in cache.glob("*.npy"):
        _replace_with_pickle(path, marker)
    VocabularyVectors.build(vectors, words, cache)  # the damaged entry is rebuilt, not unpickled
    assert not marker.exists()
