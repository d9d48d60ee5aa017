import json

import numpy as np
import pytest

from relvec.cli import main, parse_pair_argument, read_pairs_file
from relvec.cli.evaluate import format_table

from conftest import write_jsonl


def test_embed_pairs_to_npy_and_jsonl(tiny_dir, tmp_path, capsys):
    out = tmp_path / "v.npy"
    assert main(["embed", "--model", str(tiny_dir), "tokyo:japan", "paris:france", "--output", str(out)]) == 0
    vectors = np.load(out)
    assert vectors.shape == (2, 32)
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("tokyo\tjapan\nparis\tfrance\n")
    assert main(["embed", "--model", str(tiny_dir), "--input", str(tsv)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["head"], r["tail"]) for r in lines] == [("tokyo", "japan"), ("paris", "france")]
    np.testing.assert_allclose(np.array([r["vector"] for r in lines]), vectors, atol=1e-5)


def test_eval_analogy_writes_json(tiny_dir, tmp_path, capsys):
    data = write_jsonl(
        tmp_path / "q.jsonl",
        [{"stem": ["a", "b"], "answer": 0, "choice": [["a", "b"], ["c", "d"]], "prefix": "p"}] * 3,
    )
    out = tmp_path / "res.json"
    code = main(["eval", "analogy", "--model", str(tiny_dir), "--datasets", str(data), "--output", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    assert result["results"][str(tiny_dir)]["q"]["accuracy"] == 1.0  # a JSONL set is named by its stem
    assert "100.0" in capsys.readouterr().out
    argv = ["eval", "analogy", "--model", str(tiny_dir), "--model", str(tiny_dir), "--datasets", str(data)]
    assert main([*argv, "--output", str(out), "--reverse"]) == 0
    assert json.loads(out.read_text())["reverse"] is True


def test_info(tiny_dir, capsys):
    assert main(["info", str(tiny_dir)]) == 0
    out = capsys.readouterr().out
    assert "average_no_mask" in out and "embedding_dim   32" in out


def test_errors_are_one_line_unless_debug(tiny_dir, capsys):
    assert main(["embed", "--model", str(tiny_dir), "tokyo"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("relvec: error: pair 'tokyo'") and "Traceback" not in err and err.count("\n") == 1
    assert main(["eval", "analogy", "--model", str(tiny_dir), "--datasets", "nope"]) == 1
    assert "unknown dataset 'nope'" in capsys.readouterr().err
    with pytest.raises(ValueError):
        main(["embed", "--model", str(tiny_dir), "tokyo", "--debug"])


def test_pair_parsing(tmp_path):
    assert parse_pair_argument("new york:usa") == ("new york", "usa")
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\nc\n")
    with pytest.raises(ValueError, match=r"bad\.tsv:2"):
        read_pairs_file(bad)
    jl = write_jsonl(tmp_path / "p.jsonl", [{"head": "a", "tail": "b"}])
    assert read_pairs_file(jl) == [("a", "b")]


def test_format_table():
    table = format_table({"untuned": {"sat": {"accuracy": 0.25}}, "trained": {"sat": {"accuracy": 0.5}}})
    assert "25.0" in table and "50.0" in table


def test_train_cli_flags(tiny_dir, relation_data, tmp_path):
    out = tmp_path / "run"
    args = [
        "train", "--backbone", str(tiny_dir), "--data", str(relation_data), "--output", str(out),
        "--preset", "quick", "--epochs", "1", "--num-negative", "3", "--num-positive", "3",
        "--precision", "fp32", "--no-augment-negatives", "--exclude-relations", "3a", "--no-progress",
    ]  # fmt: skip
    assert main(args) == 0
    saved = json.loads((out / "history.json").read_text())["arguments"]
    assert saved["preset"] == "quick" and saved["epochs"] == 1 and saved["augment_negatives"] is False
    assert saved["exclude_relations"] == ["3a"] and saved["learning_rate"] == 5e-5
    assert json.loads((out / "history.json").read_text())["relations"] == 4


def test_every_training_flag_explains_itself(capsys):
    import dataclasses

    from relvec.recipes import RecipeArguments
    from relvec.training.prompt_search import PromptSearchArguments

    for cls in (RecipeArguments, PromptSearchArguments):
        for f in dataclasses.fields(cls):
            assert len(f.metadata.get("help", "")) > 10, f"{cls.__name__}.{f.name} has no help"
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    assert "--loss {nce,info_loob,triplet}" in text and "--preset {paper,quick,best-cpu}" in text
    assert "contrastive loss (default: nce)" in text


def test_show_config_prints_a_presets_resolved_values(capsys):
    assert main(["train", "--preset", "best-cpu", "--epochs", "6", "--show-config"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["backbone"] == "mpnet" and shown["epochs"] == 6 and shown["hybrid_vectors"] == "encoder:mpnet"
