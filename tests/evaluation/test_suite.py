import json

import numpy as np
import pytest

from relvec.cli import main
from relvec.evaluation import EmbeddingCache, evaluate_all, render_markdown

from conftest import WordOffsetEncoder


def test_cache_embeds_each_pair_once_and_normalises_on_the_way_out():
    inner = WordOffsetEncoder(dim=4)
    cache = EmbeddingCache(inner)
    first = cache.encode([("a", "b"), ("c", "d"), ("a", "b")])
    again = cache.encode([("c", "d"), ("e", "f")], normalize=True)
    assert inner.encoded == [("a", "b"), ("c", "d"), ("e", "f")]
    assert cache.pairs_encoded == 3 and cache.pairs_requested == 5 and len(cache) == 3
    np.testing.assert_allclose(first[1] / np.linalg.norm(first[1]), again[0], rtol=1e-6)
    assert cache.embedding_dim == 4 and cache.name_or_path == "fake"
    assert cache.encode(("a", "b")).shape == (4,)


def test_evaluate_all_runs_every_task_with_one_embedding_per_pair(suite_data):
    model = WordOffsetEncoder(dim=8)
    seen = []
    results = evaluate_all(
        model,
        data_dir=str(suite_data),
        analogy=["sat_full", "semeval2012_valid"],
        lexical=["BLESS"],
        on_result=lambda task, name, metrics: seen.append((task, name)),
    )
    assert seen == [
        ("analogy", "sat_full"),
        ("analogy", "semeval2012_valid"),
        ("lexical_relation", "BLESS"),
        ("relation_mapping", "relation_mapping"),
    ]
    assert results["analogy"]["sat_full"]["num_questions"] == 3
    assert results["lexical_relation"]["BLESS"]["num_test"] == 18
    assert len(results["lexical_relation"]["BLESS"]["grid"]) == 9
    assert results["relation_mapping"]["relation_mapping"]["num_terms"] == 3
    assert len(model.encoded) == len(set(model.encoded)) == results["pairs_embedded"]
    assert results["pairs_requested"] > results["pairs_embedded"]
    valid = evaluate_all(model, data_dir=str(suite_data), tasks=["analogy"], analogy=["sat_full", "u2"], split="valid")
    assert list(valid["analogy"]) == ["u2"]  # sat_full has no validation split
    with pytest.raises(ValueError, match="unknown tasks"):
        evaluate_all(model, data_dir=str(suite_data), tasks=["poetry"])


def test_markdown_report_has_a_row_per_model():
    base = {
        "split": "test",
        "relation_mapping": {"relation_mapping": {"accuracy": 0.5, "accuracy_macro": 0.4, "solved": 0}},
    }
    one = {**base, "model": "m1", "analogy": {"u2": {"accuracy": 0.25}, "sat_full": {"accuracy": 0.5}}}
    two = {
        **base,
        "model": "m2",
        "analogy": {"u2": {"accuracy": 0.75}},
        "lexical_relation": {"BLESS": {"f1_macro": 0.8, "f1_micro": 0.9, "coverage": {"pairs": 10, "oov_pairs": 2}}},
    }
    text = render_markdown([one, two])
    assert "| Model | SAT (full) | U2 | Average |" in text
    assert "| m1 | 50.0 | 25.0 | 37.5 |" in text and "| m2 | - | 75.0 | 75.0 |" in text
    assert "| m2 | 80.0 | 90.0 |" in text and "| m1 | - | - |" in text
    assert text.count("| m1 | 50.0 | 40.0 | 0.0 |") == 1
    assert "- m2: BLESS 2/10" in text and "- m1" not in text
    with pytest.raises(ValueError):
        render_markdown([])


def test_cli_eval_all_report_plot_and_neighbours(tiny_dir, suite_data, tmp_path, capsys):
    common = ["--data-dir", str(suite_data)]
    out = tmp_path / "res" / "tiny.json"
    argv = ["eval", "all", "--model", str(tiny_dir), "--analogy-datasets", "sat_full", "--lexical-datasets", "BLESS"]
    assert main([*argv, *common, "--output", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["model"] == str(tiny_dir) and set(result["analogy"]) == {"sat_full"}
    assert "### Lexical relation classification" in out.with_suffix(".md").read_text()
    out2 = tmp_path / "res" / "tiny2.json"
    out2.write_text(json.dumps({**result, "model": "second"}))
    capsys.readouterr()
    assert main(["report", str(out), str(out2), "--output", str(tmp_path / "report.md")]) == 0
    report = (tmp_path / "report.md").read_text()
    assert f"| {tiny_dir} |" in report and "| second |" in report
    assert main(["report", str(tmp_path / "report.md")]) == 1
    assert "cannot read results" in capsys.readouterr().err

    png = tmp_path / "plot.png"
    argv = ["plot", "--model", str(tiny_dir), "--dataset", "BLESS", "--method", "pca", "--output", str(png)]
    assert main([*argv, *common]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("cat\tkitten\ndog\tpuppy\ncar\troad\n")
    index = tmp_path / "index"
    assert main(["neighbours", "build", "--model", str(tiny_dir), "--input", str(pairs), "--output", str(index)]) == 0
    capsys.readouterr()
    assert main(["neighbours", "query", "--index", str(index), "cat:kitten", "-k", "2", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["query"] == ["cat", "kitten"] and len(row["neighbours"]) == 2
    assert {(n["head"], n["tail"]) for n in row["neighbours"]} == {("dog", "puppy"), ("car", "road")}
    assert main(["neighbours", "query", "--index", str(index), "--model", "offset:" + str(tmp_path), "a:b"]) == 1
    assert main(["neighbours", "build", "--model", str(tiny_dir), "--output", str(index)]) == 1
    assert "nothing to index" in capsys.readouterr().err


def test_cli_hybrid_selects_on_validation_and_saves(tiny_dir, suite_data, tmp_path, capsys):
    from relvec.encoders.hybrid import HybridEncoder
    from relvec.encoders.offset import OffsetEncoder, WordVectors
    from relvec.loading import load_model

    words = ["cat", "kitten", "dog", "puppy", "sun", "planet"]
    rng = np.random.default_rng(0)
    OffsetEncoder(WordVectors(words, rng.normal(size=(6, 4)).astype(np.float32))).save_pretrained(tmp_path / "v")
    out = tmp_path / "hybrid"
    argv = ["hybrid", "--model", str(tiny_dir), "--vectors", str(tmp_path / "v"), "--weights", "0,1,inf"]
    argv += ["--select-on", "u2,semeval2012_valid", "--data-dir", str(suite_data), "--output", str(out)]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "selected" in table and table.count("\n") == 4
    rows = json.loads((out / "weight_selection.json").read_text())
    assert [r["weight"] for r in rows] == [0.0, 1.0, float("inf")]
    model = load_model(str(out))
    assert isinstance(model, HybridEncoder) and model.embedding_dim == 36
    assert model.weight in (0.0, 1.0, float("inf"))
    assert main([*argv[:-2], "--output", str(out), "--weights", "a,b"]) == 1


def test_eval_all_fails_fast_on_unknown_names_and_keeps_finished_work(tiny_dir, suite_data, tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown analogy sets"):
        evaluate_all(WordOffsetEncoder(), data_dir=str(suite_data), analogy=["sat_full", "poetry"])
    with pytest.raises(ValueError, match="unknown lexical-relation sets"):
        evaluate_all(WordOffsetEncoder(), data_dir=str(suite_data), lexical=["WordNet"])
    (suite_data / "lexical_relation" / "BLESS" / "test.jsonl").write_text('{"head": "a"}\n')
    out = tmp_path / "partial.json"
    argv = ["eval", "all", "--model", str(tiny_dir), "--data-dir", str(suite_data), "--output", str(out)]
    assert main([*argv, "--analogy-datasets", "sat_full", "--lexical-datasets", "BLESS"]) == 1
    assert "test.jsonl:1" in capsys.readouterr().err
    saved = json.loads(out.read_text())
    assert saved["complete"] is False and saved["analogy"]["sat_full"]["num_questions"] == 3


def test_cli_eval_classification_and_mapping_match_eval_all(tiny_dir, suite_data, tmp_path):
    common = ["--model", str(tiny_dir), "--data-dir", str(suite_data)]
    everything = tmp_path / "all.json"
    argv = ["eval", "all", *common, "--analogy-datasets", "sat_full", "--lexical-datasets", "BLESS"]
    assert main([*argv, "--output", str(everything)]) == 0
    full = json.loads(everything.read_text())
    for task, name, extra in (
        ("classification", "lexical_relation", ["--datasets", "BLESS"]),
        ("mapping", "relation_mapping", []),
    ):
        out = tmp_path / f"{task}.json"
        assert main(["eval", task, *common, *extra, "--output", str(out)]) == 0
        alone = json.loads(out.read_text())
        assert [k for k in ("analogy", "lexical_relation", "relation_mapping") if k in alone] == [name]
        assert alone[name] == full[name]  # the same evaluator, the same figures
    sklearn = tmp_path / "sk.json"
    argv = ["eval", "classification", *common, "--datasets", "BLESS", "--classifier", "sklearn"]
    assert main([*argv, "--output", str(sklearn)]) == 0
    assert json.loads(sklearn.read_text())["lexical_relation"]["BLESS"]["classifier"] == "sklearn"
    argv = ["eval", "classification", *common, "--datasets", "BLESS", "--grid-stopping", "loss"]
    assert main([*argv, "--output", str(sklearn)]) == 0
    assert json.loads(sklearn.read_text())["lexical_relation"]["BLESS"]["stopping"] == "loss"


def test_a_jsonl_analogy_set_is_named_by_its_stem(tiny_dir, suite_data, tmp_path):
    path = suite_data / "analogy" / "sat_full" / "test.jsonl"
    own = tmp_path / "my_questions.jsonl"
    own.write_text(path.read_text())
    out = tmp_path / "r.json"
    assert main(["eval", "analogy", "--model", str(tiny_dir), "--datasets", str(own), "--output", str(out)]) == 0
    assert list(json.loads(out.read_text())["results"][str(tiny_dir)]) == ["my_questions"]
    out = tmp_path / "all.json"
    argv = ["eval", "all", "--model", str(tiny_dir), "--data-dir", str(suite_data), "--tasks", "analogy"]
    assert main([*argv, "--analogy-datasets", str(own), "--output", str(out)]) == 0
    assert list(json.loads(out.read_text())["analogy"]) == ["my_questions"]
