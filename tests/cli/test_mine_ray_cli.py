"""`relvec neighbours mine --engine ray` from the command line: its own local Ray, shards in --output."""

import json

import pytest

pytest.importorskip("ray")

from static_relation_toy import toy_student

from relvec.cli import main


def test_mine_on_ray_from_the_command_line(tmp_path, capsys):
    model, words = toy_student(True, 0.5, n=12)
    model.save_pretrained(tmp_path / "student")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(words) + "\n")
    argv = ["neighbours", "mine", "w1:w2", "w3:w0", "--model", str(tmp_path / "student"), "--vocab", str(vocab)]
    argv += ["--precision", "fp32", "-k", "4", "--json", "--no-progress"]
    assert (
        main([*argv, "--engine", "ray", "--workers", "1", "--block-heads", "5", "--output", str(tmp_path / "o")]) == 0
    )
    on_ray = json.loads(capsys.readouterr().out)
    assert main(argv) == 0
    alone = json.loads(capsys.readouterr().out)
    assert [p["score"] for p in on_ray["pairs"]] == pytest.approx([p["score"] for p in alone["pairs"]], abs=1e-4)
    assert len(list((tmp_path / "o").glob("block-*.json"))) == 3
    assert main([*argv, "--engine", "ray"]) == 1
    assert "--output" in capsys.readouterr().err
