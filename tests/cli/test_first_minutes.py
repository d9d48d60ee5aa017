"""The first five minutes of a newcomer: global flags anywhere, did-you-mean, defaults in --help, one-line
errors, outputs that say what they are, one-shot scoring commands, and a --help that loads no torch."""

import json
import subprocess
import sys

import numpy as np
import pytest

from relvec.cli import main
from relvec.evaluation.suite import render_markdown, row_labels


def test_global_flags_work_before_the_command(tiny_dir, capsys):
    assert main(["--threads", "1", "--no-progress", "embed", "--model", str(tiny_dir), "cat:dog"]) == 0
    assert len(json.loads(capsys.readouterr().out)["vector"]) == 32
    assert main(["embed", "--threads", "1", "--model", str(tiny_dir), "cat:dog"]) == 0


def test_a_mistyped_flag_or_command_gets_a_did_you_mean(capsys):
    with pytest.raises(SystemExit):
        main(["embed", "cat:dog", "--batchsize", "3"])
    err = capsys.readouterr().err
    assert "usage: relvec embed" in err and "--batch-size" in err
    with pytest.raises(SystemExit):
        main(["embd", "cat:dog"])
    assert "did you mean 'embed'" in capsys.readouterr().err


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit):
        main(["embed", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: 64)" in out and "(default: auto)" in out and "(default: local)" in out


def test_help_loads_no_model_code():
    code = (
        "import sys\nfrom relvec.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sklearn', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_errors_are_one_line_and_name_the_flag(tiny_dir, capsys):
    assert main(["embed", "--model", str(tiny_dir), "cat:dog", "--batch-size", "0"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("relvec: error: --batch-size") and len(err.splitlines()) == 1 and len(err) < 300


def test_update_card_with_a_subset_is_refused_before_the_run(tmp_path, capsys):
    missing = tmp_path / "not-even-a-model"
    assert main(["eval", "all", "--model", str(missing), "--max-items", "10", "--update-card"]) == 1
    assert "--update-card takes full evaluations only" in capsys.readouterr().err


def test_subset_results_are_marked_and_rows_told_apart():
    full = {"model": "m", "complete": True, "analogy": {"sat": {"accuracy": 0.5}}}
    subset = {**full, "max_items": 10}
    assert row_labels([full, subset]) == ["m", "m (subset: 10 per set)"]
    twice = row_labels([{**full, "source": "a.json"}, {**full, "source": "b.json"}])
    assert twice == ["m [a.json]", "m [b.json]"]
    assert "subset: 10 per set" in render_markdown([subset])


def test_eval_analogy_writes_nothing_unasked(tiny_dir, tmp_path, monkeypatch, capsys):
    questions = tmp_path / "q.jsonl"
    row = {"stem": ["cat", "dog"], "choice": [["car", "road"], ["dog", "cat"]], "answer": 0}
    questions.write_text(json.dumps(row) + "\n")
    monkeypatch.chdir(tmp_path)
    assert main(["eval", "analogy", "--model", str(tiny_dir), "--datasets", str(questions)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.jsonl"]


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_embed_writes_the_format_its_extension_names(tiny_dir, tmp_path, suffix):
    out = tmp_path / f"v{suffix}"
    assert main(["embed", "--model", str(tiny_dir), "cat:dog", "car:road", "--output", str(out)]) == 0
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(out).to_pydict()
        assert table["head"] == ["cat", "car"] and len(table["vector"][0]) == 32
        return
    lines = out.read_text().splitlines()
    cells = lines[1].split("\t" if suffix == ".tsv" else ",")
    assert lines[0].startswith("head") and cells[:2] == ["cat", "dog"] and len(cells) == 2 + 32


def test_embed_refuses_an_unknown_extension(tiny_dir, tmp_path, capsys):
    assert main(["embed", "--model", str(tiny_dir), "cat:dog", "--output", str(tmp_path / "v.xlsx")]) == 1
    assert "unknown extension .xlsx" in capsys.readouterr().err and not list(tmp_path.iterdir())


def test_similarity_and_analogy_answer_at_once(tiny_encoder, tiny_dir, capsys):
    assert main(["similarity", "cat:dog", "car:road", "dog:cat", "--model", str(tiny_dir), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)["scores"]
    vectors = tiny_encoder.encode([("cat", "dog"), ("car", "road"), ("dog", "cat")], normalize=True)
    assert [s["similarity"] for s in scores] == pytest.approx(vectors[1:] @ vectors[0], abs=1e-4)
    assert main(["analogy", "cat:dog", "car:road", "dog:cat", "--model", str(tiny_dir), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["answer"] == int(np.argmax(vectors[1:] @ vectors[0]))
    assert main(["analogy", "cat:dog", "car:road", "--model", str(tiny_dir)]) == 1
    assert "at least two choices" in capsys.readouterr().err


def test_progress_outside_a_terminal_is_lines_and_no_progress_silences_it(tiny_dir, capsys):
    pairs = [f"cat{i}:dog" for i in range(40)]
    assert main(["embed", "--model", str(tiny_dir), *pairs, "--batch-size", "2"]) == 0
    err = capsys.readouterr().err
    assert ("\r" not in err and "it/s" in err) or "s/it" in err
    assert main(["embed", "--no-progress", "--model", str(tiny_dir), *pairs, "--batch-size", "2"]) == 0
    assert capsys.readouterr().err == ""
