"""Mining on Ray: blocks of heads on local actors, merged exactly; resumable; the manifest refuses other settings."""

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from static_relation_toy import toy_student  # noqa: E402

from relvec.loading import load_model  # noqa: E402
from relvec.mining import mine_pairs  # noqa: E402
from relvec.mining_ray import mine_on_ray  # noqa: E402

from conftest import assert_same_top  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()


def test_ray_mining_equals_one_process_and_resumes(local_ray, tmp_path):
    toy, words = toy_student(True, 0.5, n=20)
    folder = tmp_path / "student"
    toy.save_pretrained(folder)
    model = load_model(str(folder))  # the saved table is float16: compare with what the actors load
    seeds = [("w1", "w2"), ("w3", "w4")]
    alone = mine_pairs(model, words, seeds, k=9, precision="fp32")
    pairs = [(a, b) for a in words for b in words if a != b]
    truth = {m.pair: m.score for m in mine_pairs(model, words, seeds, k=len(pairs), precision="fp32")}
    done = []

    def run() -> list:
        options = {"k": 9, "block_heads": 3, "workers": 2, "precision": "fp32"}
        return mine_on_ray(str(folder), words, seeds, tmp_path / "out", on_block=lambda i, n: done.append(i), **options)

    found = run()
    assert len(done) == 7 and len(list((tmp_path / "out").glob("block-*.json"))) == 7  # 20 heads in blocks of 3
    assert_same_top([(m.pair, m.score) for m in found], truth, 9)
    assert_same_top([(m.pair, m.score) for m in alone], truth, 9)
    # two blocks "killed" before their shards were written: a rerun scores only those
    for name in ("block-00000003.json", "block-00000012.json"):
        (tmp_path / "out" / name).unlink()
    done.clear()
    again = run()
    assert len(done) == 2 and [m.pair for m in again] == [m.pair for m in found]
    with pytest.raises(ValueError, match="other settings"):
        mine_on_ray(str(folder), words, seeds, tmp_path / "out", k=5, block_heads=3, precision="fp32")


def test_ray_mining_with_a_per_head_cap_equals_one_process(local_ray, tmp_path):
    toy, words = toy_student(True, 0.5, n=16)
    folder = tmp_path / "student"
    toy.save_pretrained(folder)
    model = load_model(str(folder))
    seeds = [("w1", "w2")]
    alone = mine_pairs(model, words, seeds, k=10, precision="fp32", max_per_head=1)
    found = mine_on_ray(
        str(folder), words, seeds, tmp_path / "out", k=10, block_heads=3, precision="fp32", max_per_head=1
    )
    pairs = [(a, b) for a in words for b in words if a != b]
    truth = {m.pair: m.score for m in mine_pairs(model, words, seeds, k=len(pairs), precision="fp32")}
    # tie-aware: the same scores, each pair with its own true score, one pair per head
    np.testing.assert_allclose([m.score for m in found], [m.score for m in alone], atol=1e-5)
    assert all(abs(truth[m.pair] - m.score) <= 1e-5 for m in found)
    assert len({m.pair[0] for m in found}) == 10
    with pytest.raises(ValueError, match="other settings"):  # the cap is part of the job
        mine_on_ray(str(folder), words, seeds, tmp_path / "out", k=10, block_heads=3, precision="fp32")
