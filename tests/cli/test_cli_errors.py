"""Every bad input to the command line says where it is (file:line, flag, folder), and nothing is left half-written."""

import json
import socket

import numpy as np
import pytest

from relvec.cli import main

LATIN1 = "paris\tfrance\ncaf\xe9\tcoffee\n".encode("latin-1")
UTF16 = "paris\tfrance\n".encode("utf-16")


def _error(capsys, argv) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("relvec: error:") and "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("name", "data", "where"),
    [
        ("pairs.tsv", LATIN1, "pairs.tsv:2: not UTF-8"),
        ("pairs.tsv", UTF16, "pairs.tsv:1: not UTF-8"),
        ("pairs.jsonl", b'{"head": "a", "tail": "b"}\n\x89PNG\r\n', "pairs.jsonl:2: not UTF-8"),
    ],
)
def test_files_that_are_not_utf8_name_file_and_line(tmp_path, tiny_dir, capsys, name, data, where):
    path = tmp_path / name
    path.write_bytes(data)
    assert where in _error(capsys, ["embed", "--model", str(tiny_dir), "--input", str(path)])


def test_analogy_and_training_data_that_are_not_utf8_name_file_and_line(tmp_path, tiny_dir, capsys):
    questions = tmp_path / "q.jsonl"
    questions.write_bytes(b'{"stem": ["a", "b"], "answer": 0, "choice": [["c", "d"], ["e", "f"]]}\n\xff\n')
    argv = ["eval", "analogy", "--model", str(tiny_dir), "--datasets", str(questions), "--output", str(tmp_path / "r")]
    assert "q.jsonl:2: not UTF-8 text (byte 0xff at column 1)" in _error(capsys, argv)
    data = tmp_path / "semeval"
    data.mkdir()
    (data / "train.jsonl").write_bytes(b"\xfe\xff")
    argv = ["train", "--backbone", str(tiny_dir), "--data", str(data), "--output", str(tmp_path / "run")]
    assert "train.jsonl:1: not UTF-8" in _error(capsys, [*argv, "--select-on", "last", "--no-progress"])
    assert not (tmp_path / "run").exists()


def test_a_bom_is_not_part_of_the_first_word(tmp_path, tiny_dir):
    path = tmp_path / "pairs.tsv"
    path.write_bytes("\ufeffparis\tfrance\n".encode())
    out = tmp_path / "v.jsonl"
    assert main(["embed", "--model", str(tiny_dir), "--input", str(path), "--output", str(out)]) == 0
    assert json.loads(out.read_text().splitlines()[0])["head"] == "paris"


def test_jsonl_accepts_lists_and_names_type_errors_by_line(tmp_path, tiny_dir, capsys):
    path = tmp_path / "pairs.jsonl"
    path.write_text('["a", "b"]\n{"head": "c", "tail": "d"}\n\n{"head": "e", "tail": 5}\n')
    err = _error(capsys, ["embed", "--model", str(tiny_dir), "--input", str(path)])
    assert "pairs.jsonl:4: word 5 is a int" in err
    path.write_text('["a", "b"]\n{"head": "c", "tail": "d"}\n')
    out = tmp_path / "v.npy"
    assert main(["embed", "--model", str(tiny_dir), "--input", str(path), "--output", str(out)]) == 0
    assert np.load(out).shape == (2, 32)


def test_invalid_utf8_in_a_command_line_pair_is_an_error(tmp_path, tiny_dir, capsys):
    bad = b"caf\xe9:coffee".decode("utf-8", "surrogateescape")  # what Python makes of such an argv
    out = tmp_path / "v.npy"
    err = _error(capsys, ["embed", "--model", str(tiny_dir), bad, "--output", str(out)])
    assert "lone surrogate" in err and "pair argument" in err
    assert not out.exists() and not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--learning-rate", "inf"),
        ("--weight-decay", "inf"),
        ("--margin", "inf"),
        ("--temperature", "1e-300"),
        ("--temperature", "inf"),
        ("--temperature", "nan"),
        ("--seed", str(2**64)),
        ("--epochs", "0"),
    ],
)
def test_numeric_flags_that_cannot_work_are_refused_by_name(tmp_path, tiny_dir, relation_data, capsys, flag, value):
    out = tmp_path / "run"
    argv = ["train", "--backbone", str(tiny_dir), "--data", str(relation_data), "--output", str(out), flag, value]
    assert f"({flag})" in _error(capsys, argv)
    assert not out.exists()


def test_config_files_that_do_not_parse_are_named(tmp_path, capsys):
    for name, text in (("c.yaml", "loss: [nce\n"), ("c.json", '{"loss": "nce",\n')):
        path = tmp_path / name
        path.write_text(text)
        assert name in _error(capsys, ["train", "--config", str(path)])


def test_truncated_side_files_are_named(tmp_path, tiny_encoder, capsys):
    from relvec.encoders.hybrid import HybridEncoder
    from relvec.encoders.offset import OffsetEncoder, WordVectors
    from relvec.search import RelationIndex

    vectors = WordVectors(["a", "b"], np.eye(2, dtype=np.float32))
    folders = {
        "model": tiny_encoder.save_pretrained(tmp_path / "model"),
        "static": OffsetEncoder(vectors).save_pretrained(tmp_path / "static"),
        "hybrid": HybridEncoder(tiny_encoder, OffsetEncoder(vectors)).save_pretrained(tmp_path / "hybrid"),
    }
    for folder in folders.values():
        side = folder / "relvec_config.json"
        side.write_text(side.read_text()[:40])
        assert f"{side}:" in _error(capsys, ["info", str(folder)])
    index = RelationIndex.build(tiny_encoder, [("a", "b")]).save(tmp_path / "index")
    (index / "index.json").write_text('{"format_version": 1, "mod')
    err = _error(capsys, ["neighbours", "query", "a:b", "--index", str(index), "--model", str(folders["model"])])
    assert "index.json:1: not valid JSON" in err


def test_a_folder_without_tokenizer_files_says_so(tmp_path, tiny_encoder, capsys):
    folder = tiny_encoder.save_pretrained(tmp_path / "model")
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        (folder / name).unlink()
    assert "has no tokenizer files" in _error(capsys, ["info", str(folder)])


def test_unwritable_outputs_name_the_path_and_leave_nothing_behind(tmp_path, tiny_dir, capsys, monkeypatch):
    err = _error(capsys, ["embed", "--model", str(tiny_dir), "a:b", "--output", "/dev/full"])
    assert "/dev/full" in err and "No space left" in err
    import numpy

    def full_disk(path, array, allow_pickle=False):
        path.write_bytes(b"\x93NUMPY partial")
        raise OSError(28, "No space left on device")

    out = tmp_path / "v.npy"
    monkeypatch.setattr(numpy, "save", full_disk)
    assert str(out) in _error(capsys, ["embed", "--model", str(tiny_dir), "a:b", "--output", str(out)])
    assert list(tmp_path.iterdir()) == []


def test_a_local_folder_never_reaches_the_network(tmp_path, capsys, monkeypatch):
    """Even with offline mode off, a side file naming a hub id resolves it from local files only."""
    import huggingface_hub.constants
    import transformers.utils.hub

    lookups = []

    def no_network(*args, **kwargs):
        lookups.append(args[:1])
        raise OSError("network is not allowed in this test")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(transformers.utils.hub, "_is_offline_mode", False)
    folder = tmp_path / "static"
    folder.mkdir()
    side = {"format_version": 1, "model_type": "static_offset", "vectors": "encoder:bert-base-uncased"}
    (folder / "relvec_config.json").write_text(json.dumps(side))
    err = _error(capsys, ["info", str(folder)])
    assert "not available locally" in err and "bert-base-uncased" in err
    hybrid = tmp_path / "hybrid"
    hybrid.mkdir()
    side = {"format_version": 1, "model_type": "hybrid", "prompt": "bert-base-uncased", "static": "static"}
    (hybrid / "relvec_config.json").write_text(json.dumps(side))
    assert "is not a folder" in _error(capsys, ["info", str(hybrid)])
    assert lookups == []


def test_hybrid_refuses_semeval_valid_selection_for_a_model_trained_on_it(tmp_path, capsys):
    model = tmp_path / "trained"
    model.mkdir()
    side = {"format_version": 1, "training": {"arguments": {"train_splits": "train,valid"}}}
    (model / "relvec_config.json").write_text(json.dumps(side))
    argv = ["hybrid", "--model", str(model), "--select-on", "u2,semeval2012_valid", "--output", str(tmp_path / "h")]
    err = _error(capsys, argv)
    assert "semeval2012_valid" in err and "trained on the SemEval valid split" in err and str(model) in err
    assert not (tmp_path / "h").exists()  # refused before anything was loaded or written


def test_index_from_data_without_a_data_directory_names_it(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("RELVEC_DATA", raising=False)
    argv = ["neighbours", "build", "--from-data", "analogy", "--output", str(tmp_path / "index")]
    err = _error(capsys, argv)
    assert "no data directory" in err and "--data-dir" in err and "nothing to index" not in err
    assert not (tmp_path / "index").exists()
