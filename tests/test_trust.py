"""What relvec trusts: no code from a model folder, no data replaced by a folder, no network from a saved
file, no manifest reading outside its folder, a push of the folder's own files only, paths that win over
spec syntax, caches and labels checked, and saved models found from any working directory."""

import json
import shutil
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from relvec.classifier import CLASSIFIER_CONFIG, CLASSIFIER_WEIGHTS, RelationClassifier
from relvec.cli import main
from relvec.completion import VocabularyVectors
from relvec.data import LexicalExample
from relvec.encoders.hybrid import HybridEncoder
from relvec.encoders.loading import load_model
from relvec.encoders.offset import OffsetEncoder, WordVectors
from relvec.encoders.prompt import RelationEncoder
from relvec.files import FileFormatError, portable_paths, save_into, verify_manifest, write_dir, write_manifest
from relvec.hub import push_to_hub, pushable_files
from relvec.search import RelationIndex

from conftest import WordOffsetEncoder, write_jsonl


@pytest.fixture()
def no_network(monkeypatch):
    """Any connection attempt fails the test loudly."""
    attempts = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


# ---------------------------------------------------------------------------- 1. code from a folder
@pytest.mark.parametrize("config_file", ["config.json", "tokenizer_config.json"])
def test_a_folder_with_custom_code_is_refused_and_its_code_never_runs(tiny_dir, tmp_path, capsys, config_file):
    folder = tmp_path / "evil"
    shutil.copytree(tiny_dir, folder)
    marker = tmp_path / "ran"
    (folder / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    config = json.loads((folder / config_file).read_text())
    config["auto_map"] = {"AutoModel": "evil.EvilModel", "AutoTokenizer": ["evil.EvilTokenizer", None]}
    (folder / config_file).write_text(json.dumps(config))
    for argv in (["embed", "--model", str(folder), "a:b"], ["embed", "--model", f"offset:encoder:{folder}", "a:b"]):
        assert main(argv) == 1
        err = capsys.readouterr().err.strip()
        assert "auto_map" in err and config_file in err and len(err.splitlines()) == 1
    assert not marker.exists()
    with pytest.raises(ValueError, match="trust_remote_code"):
        RelationEncoder.from_pretrained(tiny_dir, trust_remote_code=True)


# ---------------------------------------------------------------------------- 2. data never replaced
def test_an_existing_file_is_never_replaced_by_a_folder(tiny_dir, tmp_path, capsys):
    rows = [{"head": h, "tail": t, "relation": r} for h, t, r in [("cat", "animal", "hyp"), ("wheel", "car", "mero")]]
    train = write_jsonl(tmp_path / "train.jsonl", rows * 3)
    before = train.read_bytes()
    argv = ["classify", "fit", "--model", str(tiny_dir), "--data", str(train), "--output", str(train)]
    assert main(argv) == 1
    assert "existing file" in capsys.readouterr().err
    assert train.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.jsonl"]  # no hidden .old- copy either
    for writer in (write_dir, save_into):
        with pytest.raises(FileExistsError, match="existing file"):
            writer(train, lambda staging: (staging / "x").write_text("y"))
        with pytest.raises(FileExistsError, match="existing file"):
            writer(train / "inner", lambda staging: (staging / "x").write_text("y"))
    assert train.read_bytes() == before


def test_train_refuses_a_finished_run_without_overwrite(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "history.json").write_text(json.dumps({"arguments": {}, "best_epoch": 1, "complete": True}))
    assert main(["train", "--output", str(run), "--data", str(tmp_path / "none.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "finished run" in err and "--overwrite" in err
    assert (run / "history.json").is_file()
    (tmp_path / "file").write_text("data")
    assert main(["train", "--output", str(tmp_path / "file")]) == 1
    assert "existing file" in capsys.readouterr().err and (tmp_path / "file").read_text() == "data"


def test_saved_arguments_hold_no_machine_paths():
    saved = portable_paths({"output_dir": "/home/me/runs/best", "data_dir": "/srv/data", "epochs": 3})
    assert saved == {"output_dir": "best", "data_dir": "data", "epochs": 3}
    assert portable_paths({"output_dir": "runs/best"}) == {"output_dir": "runs/best"}


# ---------------------------------------------------------------------------- 3. and 8. what saved files name
def _toy_classifier(encoder) -> RelationClassifier:
    items = [LexicalExample(h, t, r) for h, t, r in [("cat", "dog", "a"), ("dog", "cat", "b")] * 4]
    return RelationClassifier.fit(encoder, items)


def test_a_saved_classifier_or_index_never_makes_relvec_go_online(tiny_encoder, tmp_path, no_network, capsys):
    folder = _toy_classifier(tiny_encoder).save_pretrained(tmp_path / "clf")
    info = json.loads((folder / CLASSIFIER_CONFIG).read_text())
    info["embedding_model"] = {**info["embedding_model"], "name": "someone/remote-model"}
    info["embedding_model"].pop("path", None)
    (folder / CLASSIFIER_CONFIG).write_text(json.dumps(info))
    assert main(["classify", "predict", str(folder), "cat:dog"]) == 1
    err = capsys.readouterr().err
    assert "never downloads" in err and "--model" in err and len(err.strip().splitlines()) == 1
    index = RelationIndex.build(tiny_encoder, [("cat", "dog"), ("dog", "cat")]).save(tmp_path / "index")
    meta = json.loads((index / "index.json").read_text())
    meta["model"] = {**meta["model"], "name": "someone/remote-model"}
    meta["model"].pop("path", None)
    (index / "index.json").write_text(json.dumps(meta))
    assert main(["neighbours", "query", "cat:dog", "--index", str(index)]) == 1
    assert "never downloads" in capsys.readouterr().err
    assert no_network == []


def test_saved_files_find_their_model_from_any_working_directory(tiny_encoder, tmp_path, monkeypatch, capsys):
    project = tmp_path / "project"
    tiny_encoder.save_pretrained(project / "runs" / "model")
    monkeypatch.chdir(project)
    relative = RelationEncoder.from_pretrained("runs/model")
    _toy_classifier(relative).save_pretrained("runs/clf")
    RelationIndex.build(relative, [("cat", "dog"), ("dog", "cat")]).save("runs/index")
    saved = json.loads(Path("runs/clf", CLASSIFIER_CONFIG).read_text())["embedding_model"]
    assert saved["path"] == "../model" and not Path(saved["name"]).is_absolute()
    monkeypatch.chdir(tmp_path)
    assert RelationClassifier.from_pretrained(project / "runs" / "clf").predict([("cat", "dog")]) in (["a"], ["b"])
    assert main(["neighbours", "query", "cat:dog", "--index", str(project / "runs" / "index"), "-k", "1"]) == 0
    assert "cat:dog" in capsys.readouterr().out


def test_a_mistyped_local_path_says_no_such_folder(tmp_path, monkeypatch, capsys, no_network):
    (tmp_path / "runs").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["embed", "--model", "runs/minilm-quik", "a:b"]) == 1
    assert "no such folder" in capsys.readouterr().err
    assert no_network == []


# ---------------------------------------------------------------------------- 4. manifests stay inside
def test_a_manifest_naming_files_outside_its_folder_is_not_trusted(tmp_path):
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"abc")
    write_manifest(folder)
    assert verify_manifest(folder) is not None
    outside = tmp_path / "secret"
    outside.write_bytes(b"top secret")
    manifest = json.loads((folder / "manifest.json").read_text())
    real = manifest["files"]["weights.bin"]
    import hashlib

    entry = {"size": outside.stat().st_size, "sha256": hashlib.sha256(outside.read_bytes()).hexdigest()}
    for name in ("../secret", str(outside), "sub/../../secret"):
        manifest["files"] = {"weights.bin": real, name: entry}
        (folder / "manifest.json").write_text(json.dumps(manifest))
        assert verify_manifest(folder) is None, name


# ---------------------------------------------------------------------------- 5. push
class SlowApi:
    def create_repo(self, **kwargs):
        time.sleep(3)


def test_push_sends_only_the_folders_own_files_and_gives_up_on_a_silent_hub(tiny_encoder, tmp_path):
    folder = tiny_encoder.save_pretrained(tmp_path / "m")
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    (folder / "leak.txt").symlink_to(secret)
    (folder / "linked-dir").symlink_to(tmp_path)
    for name in (".relvec_config.json.tmp-123", ".m.old-1", ".trash-9", "model.lock"):
        (folder / name).write_text("x")
    (folder / ".checkpoint.tmp-4").mkdir()
    (folder / ".checkpoint.tmp-4" / "w").write_text("x")
    (folder / "checkpoint").mkdir()
    (folder / "checkpoint" / "w").write_text("x")
    files = pushable_files(folder)
    assert "relvec_config.json" in files and "model.safetensors" in files
    assert not [f for f in files if f.startswith(".") or "leak" in f or "linked" in f or "checkpoint" in f]
    assert not [f for f in files if f.endswith(".lock")]
    # the fake hub answers after 3 s; only a working deadline turns that into this error
    with pytest.raises(TimeoutError, match=r"did not answer within 0\.2 s"):
        push_to_hub(folder, "me/x", api=SlowApi(), timeout=0.2)


# ---------------------------------------------------------------------------- 6. a path that exists wins
def test_an_existing_folder_wins_over_the_weight_syntax(tiny_encoder, tmp_path, monkeypatch):
    static = OffsetEncoder(WordVectors(["cat", "dog"], np.eye(2, 4, dtype=np.float32), name="toy"))
    HybridEncoder(tiny_encoder, static, 1.0).save_pretrained(tmp_path / "spec" / "model")
    tiny_encoder.save_pretrained(tmp_path / "spec" / "model@2")
    monkeypatch.chdir(tmp_path)
    assert isinstance(load_model("spec/model@2"), RelationEncoder)
    assert isinstance(load_model("spec/model"), HybridEncoder)


# ---------------------------------------------------------------------------- 7. caches and labels
class ToyVectors:
    name = "toy"
    dim = 4

    def __init__(self):
        self.table = {w: np.arange(4, dtype=np.float32) + i + 1 for i, w in enumerate(["a", "b", "c", "d"])}

    def prefetch(self, words, show_progress_bar=None):
        pass

    def lookup(self, word):
        return self.table.get(word)


@pytest.mark.parametrize("damage", ["reorder", "nan", "width"])
def test_a_tampered_completion_cache_is_rebuilt(tmp_path, damage):
    vectors = ToyVectors()
    fresh = VocabularyVectors.build(vectors, ["a", "b", "c", "d"], cache_dir=tmp_path)
    (npy,) = tmp_path.glob("*.npy")
    matrix = np.load(npy)
    matrix = {"reorder": matrix[::-1], "nan": np.where(matrix > 0.5, np.nan, matrix), "width": matrix[:, :3]}[damage]
    np.save(npy, np.ascontiguousarray(matrix, dtype=np.float32))
    again = VocabularyVectors.build(vectors, ["a", "b", "c", "d"], cache_dir=tmp_path)
    assert again.words == fresh.words
    np.testing.assert_array_equal(again.matrix, fresh.matrix)


def test_labels_that_could_forge_output_lines_are_refused(tmp_path):
    encoder = WordOffsetEncoder({"cat": np.eye(8)[0], "dog": np.eye(8)[1]})
    items = [LexicalExample("cat", "dog", "a\nforged\t1.000"), LexicalExample("dog", "cat", "b")] * 3
    with pytest.raises(ValueError, match="control character"):
        RelationClassifier.fit(encoder, items)
    folder = _toy_classifier(encoder).save_pretrained(tmp_path / "clf")
    info = json.loads((folder / CLASSIFIER_CONFIG).read_text())
    for labels in (["a\nforged", "b"], [1, "b"], ["a", "a"]):
        (folder / CLASSIFIER_CONFIG).write_text(json.dumps({**info, "labels": labels}))
        with pytest.raises(FileFormatError, match="label"):
            RelationClassifier.from_pretrained(folder, model=encoder)
    (folder / CLASSIFIER_CONFIG).write_text(json.dumps(info))
    tensors = load_file(str(folder / CLASSIFIER_WEIGHTS))
    name = next(iter(tensors))
    for bad in (tensors[name].double(), torch.full_like(tensors[name], float("nan"))):
        save_file({**tensors, name: bad}, str(folder / CLASSIFIER_WEIGHTS))
        with pytest.raises(FileFormatError, match="finite float32"):
            RelationClassifier.from_pretrained(folder, model=encoder)


def test_a_damaged_weights_file_names_itself(tmp_path):
    encoder = WordOffsetEncoder({"cat": np.eye(8)[0], "dog": np.eye(8)[1]})
    folder = _toy_classifier(encoder).save_pretrained(tmp_path / "clf")
    (folder / CLASSIFIER_WEIGHTS).write_bytes(b"\xff" * 8 + b"{}")
    with pytest.raises(FileFormatError, match=CLASSIFIER_WEIGHTS) as caught:
        RelationClassifier.from_pretrained(folder, model=encoder)
    assert len(str(caught.value)) < 300 and "\n" not in str(caught.value)


def test_a_nan_score_never_prints_invalid_json():
    from relvec.cli.common import json_line

    line = json_line({"score": float("nan"), "rows": [1.0, float("inf")]})
    assert json.loads(line) == {"score": None, "rows": [1.0, None]}
