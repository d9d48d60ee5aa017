"""The static relation model: distilled from a tiny teacher in-process, saved, reloaded, OOV-safe, refused when
damaged, trained on no evaluation pair, and its teacher's vectors embedded once (resumable)."""

import json

import numpy as np
import pytest
import torch
from static_relation_toy import toy_student

from relvec.data.pairs import distillation_pairs, excluded_pairs
from relvec.distill import DistillArguments, distill, embed_teacher, teacher_parts
from relvec.encoders.pair_network import PairNetwork
from relvec.encoders.static_relation import NETWORK_FILE, TABLE_FILE, StaticRelationEncoder
from relvec.files import FileFormatError
from relvec.loading import load_model

from conftest import WordOffsetEncoder, assert_same_top, tiny_distill_arguments

VOCAB = "cat kitten dog puppy sun planet animal part thing car road paris france tokyo japan".split()  # noqa: SIM905


@pytest.fixture()
def student(tiny_encoder, suite_data, tmp_path):
    return distill(tiny_distill_arguments(suite_data, tmp_path / "static"), teacher=tiny_encoder, vocabulary=VOCAB)


def test_the_student_trains_saves_and_reloads_bit_identically(student, tmp_path):
    pairs = [("cat", "kitten"), ("paris", "france"), ("kitten", "cat")]
    vectors = student.encode(pairs)
    assert vectors.shape == (3, student.embedding_dim) and student.embedding_dim == 32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(vectors[0], vectors[2])  # a:b is not b:a
    again = load_model(str(tmp_path / "static"))
    assert isinstance(again, StaticRelationEncoder)
    np.testing.assert_array_equal(again.encode(pairs), vectors)
    assert student.info["pairs"] > 0 and len(student.info["history"]) == 2
    saved = sorted(p.name for p in (tmp_path / "static").iterdir())
    assert saved == [
        "README.md",
        "pair_network.safetensors",
        "relvec_config.json",
        "word_table.safetensors",
        "words.json",
    ]


def test_encode_keeps_input_order_and_handles_out_of_vocabulary_words(student):
    pairs = [("dog", "puppy"), ("zebra", "stripes"), ("cat", "kitten")]
    together = student.encode(pairs)
    alone = np.stack([student.encode(p) for p in pairs])
    np.testing.assert_allclose(together, alone, atol=1e-6)
    assert "zebra" not in student.word_table.index and np.isfinite(together[1]).all()
    assert torch.is_tensor(student.encode(pairs, convert_to_tensor=True))
    # new words met one request at a time extend the precomputed parts: the same scores as all at once
    query = student.encode(("cat", "kitten"), normalize=True)
    student.encode(("yak", "calf"))
    student.encode(("owl", "owlet"))
    rows = student.rows_of(["yak", "owl", "dog", "zebra"])
    incremental = student.score_rows(rows[:2], rows[2:], query)
    expected = student.encode([("yak", "dog"), ("owl", "zebra")], normalize=True, precision="fp32") @ query
    np.testing.assert_allclose(incremental, expected, atol=1e-5)


def test_a_damaged_folder_is_refused_with_the_file_named(student, tmp_path):
    folder = tmp_path / "static"
    (folder / NETWORK_FILE).write_bytes(b"\x00" * 16)
    with pytest.raises(FileFormatError, match=NETWORK_FILE):
        StaticRelationEncoder.from_pretrained(folder)
    student.save_pretrained(folder)
    (folder / "words.json").write_text(json.dumps(["cat"]))
    with pytest.raises(FileFormatError, match=TABLE_FILE):
        StaticRelationEncoder.from_pretrained(folder)


def test_a_hybrid_teacher_gives_a_hybrid_student():
    network = PairNetwork(dim=4, hidden=8, rank=2, out_dim=6)
    table = np.eye(4, dtype=np.float32)
    model = StaticRelationEncoder(["a", "b", "c", "d"], table, network, "none", bidirectional=True, offset_weight=0.5)
    assert model.embedding_dim == 2 * 6 + 4
    v = model.encode([("a", "b"), ("b", "a")])
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    offset = v[:, 12:] / np.linalg.norm(v[:, 12:], axis=1, keepdims=True)
    np.testing.assert_allclose(offset[0], -offset[1], atol=1e-6)  # the offset part flips with the direction
    np.testing.assert_allclose(v[0, :6], v[1, 6:12], atol=1e-6)  # bidirectional halves swap
    with pytest.raises(ValueError, match="not in"):
        model.encode([("a", "zzz")])  # no backbone to compute an unknown word: a clear error, not a crash


def test_no_evaluation_pair_is_among_the_distillation_pairs(suite_data):
    exclude = excluded_pairs(suite_data)
    assert ("cat", "kitten") in exclude and ("kitten", "cat") in exclude and ("dog", "puppy") in exclude
    test_lexical = json.loads((suite_data / "lexical_relation" / "BLESS" / "test.jsonl").read_text().splitlines()[0])
    assert (test_lexical["head"].lower(), test_lexical["tail"].lower()) in exclude
    pairs, counts = distillation_pairs({"x": [("Cat", "Kitten"), ("cat", "dog"), ("puppy", "dog")]}, exclude)
    assert pairs == [("cat", "dog")] and counts == {"x": 1}


def test_the_student_trained_on_no_excluded_pair(student, suite_data, tmp_path):
    embedded = [tuple(p) for f in (tmp_path / "static-work").glob("shard-*.json") for p in json.loads(f.read_text())]
    assert len(embedded) == student.info["pairs"]
    assert not set(embedded) & excluded_pairs(suite_data)
    assert student.info["sources"]["semeval"] > 0


def test_teacher_vectors_are_embedded_once_and_resumed(tmp_path):
    teacher = WordOffsetEncoder(dim=6)
    pairs = [(f"a{i}", f"b{i}") for i in range(250)]
    first = embed_teacher(teacher, pairs, tmp_path, shard_size=100)
    assert len(teacher.encoded) == 250 and first.shape == (250, 6)
    (tmp_path / "shard-00002.npy").unlink()  # as if killed before the last shard
    teacher.encoded.clear()
    again = embed_teacher(teacher, pairs, tmp_path, shard_size=100)
    assert len(teacher.encoded) == 50
    np.testing.assert_array_equal(first, again)


def test_the_teacher_cache_embeds_only_new_pairs_and_keeps_the_order(tmp_path):
    teacher = WordOffsetEncoder(dim=6)
    pairs = [(f"a{i}", f"b{i}") for i in range(120)]
    first = embed_teacher(teacher, pairs, tmp_path, shard_size=50)
    teacher.encoded.clear()
    more = [*pairs[::-1][:60], ("x", "y"), ("y", "x"), ("x", "y")]  # other order, two new pairs, a repeat
    vectors = embed_teacher(teacher, more, tmp_path, shard_size=50)
    assert sorted(teacher.encoded) == [("x", "y"), ("y", "x")]
    np.testing.assert_array_equal(vectors[:60], first[::-1][:60])
    np.testing.assert_array_equal(vectors[60], vectors[62])
    assert sorted(p.name for p in tmp_path.glob("shard-*.json"))[-1] == "shard-00003.json"
    other = WordOffsetEncoder(dim=6)
    other.name_or_path = "another-teacher"
    with pytest.raises(ValueError, match="another teacher"):
        embed_teacher(other, pairs, tmp_path, shard_size=50)
    (tmp_path / "shard-00000.json").write_text('[["a0"]]')
    with pytest.raises(FileFormatError, match="head, tail"):
        embed_teacher(teacher, pairs, tmp_path, shard_size=50)
    (tmp_path / "shard-00000.json").write_text('[["a0", "b0"]]')
    with pytest.raises(FileFormatError, match=r"shard-00000\.npy: 50 vectors for 1 pairs"):
        embed_teacher(teacher, pairs, tmp_path, shard_size=50)


def test_teacher_parts_of_a_relation_encoder(tiny_encoder):
    prompt, vectors, bidirectional, weight = teacher_parts(tiny_encoder)
    assert prompt is tiny_encoder and vectors.dim == 32 and not bidirectional and weight is None
    with pytest.raises(ValueError, match="sentence encoder"):
        teacher_parts(WordOffsetEncoder())


@pytest.mark.parametrize(("bidirectional", "weight"), [(True, 0.5), (False, None), (True, None), (False, 2.0)])
@pytest.mark.parametrize("hidden", [12, 3])
def test_exhaustive_completion_equals_brute_force(bidirectional, weight, hidden):
    from relvec.completion import AnalogyCompleter

    model, words = toy_student(bidirectional, weight, hidden=hidden)
    completer = AnalogyCompleter(model, words, exhaustive=True)
    found = completer.complete(("w1", "w2"), "w3", k=5)
    query = model.encode(("w1", "w2"), precision="fp32")
    others = [w for w in words if w not in ("w1", "w2", "w3")]
    brute = model.encode([("w3", d) for d in others], precision="fp32") @ query
    assert_same_top([(c.word, c.score) for c in found], dict(zip(others, brute, strict=True)), 5)
    with pytest.raises(ValueError, match="static relation model"):
        AnalogyCompleter(WordOffsetEncoder(), words, exhaustive=True)


@pytest.mark.parametrize(("bidirectional", "weight"), [(True, 0.5), (False, None)])
def test_mining_equals_brute_force_over_every_ordered_pair(bidirectional, weight):
    from relvec.mining import mine_pairs

    model, words = toy_student(bidirectional, weight, n=20)
    found = mine_pairs(model, words, ("w1", "w2"), k=7, block=3)
    pairs = [(a, b) for a in words for b in words if a != b and (a, b) not in (("w1", "w2"), ("w2", "w1"))]
    scores = model.encode(pairs, precision="fp32") @ model.encode(("w1", "w2"), precision="fp32")
    assert_same_top([(m.pair, m.score) for m in found], dict(zip(pairs, scores, strict=True)), 7)


@pytest.mark.parametrize("hidden", [12, 3])
def test_fast_mining_rescores_its_shortlist_exactly(hidden, monkeypatch):
    import relvec.mining as mining

    monkeypatch.setattr(mining, "SHORTLIST", 40)  # of 380 ordered pairs
    model, words = toy_student(True, 0.5, n=20, hidden=hidden)
    exact = mining.mine_pairs(model, words, ("w1", "w2"), k=7)
    fast = mining.mine_pairs(model, words, ("w1", "w2"), k=7, precision="bf16")
    pairs = [(a, b) for a in words for b in words if a != b and (a, b) not in (("w1", "w2"), ("w2", "w1"))]
    seed = model.encode(("w1", "w2"), precision="fp32")
    truth = dict(zip(pairs, model.encode(pairs, precision="fp32") @ seed, strict=True))
    assert_same_top([(m.pair, m.score) for m in fast], truth, 7)
    assert_same_top([(m.pair, m.score) for m in exact], truth, 7)
    assert not {("w1", "w2"), ("w2", "w1")} & {
        m.pair for m in mining.mine_pairs(model, words[:3], ("w1", "w2"), 9, precision="bf16")
    }
    for precision in ("fp32", "bf16"):  # a vocabulary with fewer pairs than k: only real pairs, never the seed
        few = mining.mine_pairs(model, words[:3], ("w1", "w2"), 9, precision=precision)
        assert len(few) == 4 and np.isfinite([m.score for m in few]).all()


def test_info_describes_a_static_model(student, tmp_path, capsys):
    from relvec.cli import main

    assert main(["info", str(tmp_path / "static")]) == 0
    out = capsys.readouterr().out
    assert "static_relation" in out and "pair_network" in out and "hidden 16" in out


def test_distill_arguments_are_checked_and_shown(capsys):
    from relvec.cli import main

    with pytest.raises(ValueError, match="hidden"):
        DistillArguments(hidden=0)
    with pytest.raises(ValueError, match="--random-share"):
        DistillArguments(random_share=0.8, neighbour_share=0.5)
    assert main(["distill", "--teacher", "t", "--pairs", "5000", "--show-config"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["pairs"] == 5000 and shown["teacher"] == "t"


@pytest.mark.parametrize(("bidirectional", "weight"), [(True, 0.5), (False, None)])
def test_fast_exhaustive_completion_keeps_the_exact_top_k(bidirectional, weight, monkeypatch):
    import relvec.completion as completion

    monkeypatch.setattr(completion, "_SHORTLIST", 6)  # the toy vocabulary is larger than the shortlist
    model, words = toy_student(bidirectional, weight)
    exact = completion.AnalogyCompleter(model, words, exhaustive=True, precision="fp32")
    fast = completion.AnalogyCompleter(model, words, exhaustive=True, precision="bf16")
    assert fast.fast and not exact.fast
    for (a, b), c in [(("w1", "w2"), "w3"), (("w4", "w0"), "w2")]:
        want, got = exact.complete((a, b), c, k=4), fast.complete((a, b), c, k=4)
        others = [w for w in words if w not in (a, b, c)]
        brute = model.encode([(c, d) for d in others], precision="fp32") @ model.encode((a, b), precision="fp32")
        truth = dict(zip(others, brute, strict=True))
        assert_same_top([(x.word, x.score) for x in got], truth, 4)
        assert_same_top([(x.word, x.score) for x in want], truth, 4)


@pytest.mark.parametrize("hidden", [12, 3])  # f built, or scored through W2ᵀW2
def test_fast_scores_stay_close_to_exact_ones(hidden):
    model, words = toy_student(True, 0.5, hidden=hidden)
    query = model.encode(("w1", "w2"), normalize=True, precision="fp32")
    rows = model.rows_of(words)
    for heads in (model.rows_of(["w3"]).expand(len(rows)), rows.flip(0)):  # a shared head, and any pairs
        exact, fast = model.score_rows(heads, rows, query), model.score_rows(heads, rows, query, torch.bfloat16)
        np.testing.assert_allclose(fast, exact, atol=2e-2)


def test_scoring_no_rows_gives_no_scores():
    model, _ = toy_student(True, 0.5)
    none = torch.zeros(0, dtype=torch.long)
    assert model.score_rows(none, none, model.encode(("w1", "w2"), normalize=True)).shape == (0,)


def test_a_word_layer_is_folded_into_the_word_parts_and_saved(tmp_path):
    torch.manual_seed(0)
    network = PairNetwork(dim=6, hidden=12, rank=3, out_dim=5, word_hidden=7)
    table = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float16).astype(np.float32)  # saved as fp16
    model = StaticRelationEncoder(list("abcd"), table, network, "none", bidirectional=False)
    vectors = model.encode([("a", "b"), ("c", "d")], precision="fp32")
    with torch.no_grad():
        direct = network(torch.from_numpy(table[[0, 2]]), torch.from_numpy(table[[1, 3]]))
    np.testing.assert_allclose(vectors, torch.nn.functional.normalize(direct, dim=1).numpy(), atol=1e-5)
    model.save_pretrained(tmp_path / "m")
    again = StaticRelationEncoder.from_pretrained(tmp_path / "m")
    assert again.network.word_hidden == 7
    np.testing.assert_array_equal(again.encode([("a", "b"), ("c", "d")], precision="fp32"), vectors)
    with pytest.raises(ValueError, match="word_hidden"):
        PairNetwork(dim=6, hidden=12, rank=3, out_dim=5, word_hidden=-1)


def test_bf16_encode_stays_close_to_fp32():
    model, words = toy_student(True, 0.5)
    pairs = [(a, b) for a in words[:8] for b in words[8:16]]
    exact, fast = model.encode(pairs, precision="fp32"), model.encode(pairs, precision="bf16")
    assert exact.dtype == fast.dtype == np.float32
    assert (np.sum(exact * fast, axis=1) > 0.999).all() and not np.array_equal(exact, fast)


def test_reversed_related_pairs_are_added_but_never_an_excluded_pair(suite_data):
    from relvec.distill import training_pairs

    vectors = np.random.default_rng(0).normal(size=(len(VOCAB), 4))
    base = DistillArguments(data_dir=str(suite_data), pairs=100_000, random_share=0, neighbour_share=0)
    plain, _, related = training_pairs(base, VOCAB, vectors)
    both, counts, _ = training_pairs(DistillArguments(**{**base.to_dict(), "reverse": True}), VOCAB, vectors)
    assert counts["reversed"] > 0 and len(both) == len(plain) + counts["reversed"]
    assert {(b, a) for a, b in plain} - set(both) <= excluded_pairs(suite_data)
    assert not set(both) & excluded_pairs(suite_data)
    assert set(plain) <= related  # no random or nearby pairs here: every pair is a related one


def test_the_offset_weight_is_chosen_on_valid():
    from relvec.distill import best_offset_weight

    scores = {0.5: 0.6, 0.7: 0.65, 1.0: 0.65}
    model, _ = toy_student(True, 0.5)

    def evaluator(student):
        return {"valid": scores[student.offset_weight], "primary_metric": "valid"}

    assert best_offset_weight(lambda: model, 0.5, ["0.7", "1"], evaluator, lambda line: None) == (0.7, 0.65)
    assert best_offset_weight(lambda: model, 1.0, ["0.7"], evaluator, lambda line: None)[0] == 1.0  # ties: teacher's
    with pytest.raises(ValueError, match="--offset-weights"):
        DistillArguments(offset_weights="0.5,x")


def test_exact_ties_break_by_vocabulary_order_everywhere():
    """The library breaks exact ties by row (vocabulary) order, so its answers are the same on every CPU."""
    from relvec.completion import top_words
    from relvec.encoders.pair_scoring import rescored_top, top_indices

    scores = np.asarray([0.5, 0.9, 0.7, 0.9, 0.7, 0.9, -np.inf], dtype=np.float32)
    assert top_indices(scores, 4).tolist() == [1, 3, 5, 2]
    assert top_indices(scores, 2).tolist() == [1, 3]  # a tie across the cut keeps the lower rows
    assert top_indices(scores[::-1].copy(), 3).tolist() == [1, 3, 5]
    words = [f"w{i}" for i in range(len(scores))]
    assert [w for w, _ in top_words(scores, words, ["w1"], 3)] == ["w3", "w5", "w2"]
    best, values = rescored_top(scores, 3, 5, lambda rows: np.zeros(len(rows), dtype=np.float32))
    assert best.tolist() == [1, 2, 3] and values.tolist() == [0, 0, 0]  # exact ties: by row again


def test_a_static_model_loads_without_transformers(student, tmp_path):
    """Loading a static folder imports no transformers (nor the other model kinds) until an OOV word needs one."""
    import subprocess
    import sys

    code = (
        "import sys; from relvec.loading import load_model; "
        f"m = load_model({str(tmp_path / 'static')!r}); m.encode([(m.words[0], m.words[1])]); "
        "kinds = ('transformers', 'relvec.encoders.prompt', 'relvec.encoders.hybrid'); "
        "print(sorted(k for k in kinds if k in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


def test_setting_the_offset_weight_re_lays_the_vectors_out():
    model, _ = toy_student(True, 0.5)
    before = model.encode(("w1", "w2"), precision="fp32")
    model.offset_weight = 2.0
    after = model.encode(("w1", "w2"), precision="fp32")
    other, _ = toy_student(True, 2.0)
    np.testing.assert_allclose(after, other.encode(("w1", "w2"), precision="fp32"), atol=1e-6)
    assert not np.allclose(before, after)
    rows = model.rows_of(["w3", "w4"])
    np.testing.assert_allclose(
        model.score_rows(rows[:1], rows[1:], after),
        [float(after @ model.encode(("w3", "w4"), precision="fp32"))],
        atol=1e-5,
    )


def test_mining_by_several_examples_uses_their_prototype_and_leaves_them_out():
    from relvec.mining import mine_pairs
    from relvec.search import prototype_query

    model, words = toy_student(True, 0.5, n=20)
    seeds, negatives = [("w1", "w2"), ("w3", "w4")], [("w5", "w6")]
    found = mine_pairs(model, words, seeds, k=6, negatives=negatives, negative_weight=0.5, precision="fp32")
    vectors = model.encode([*seeds, *negatives], normalize=True, precision="fp32")
    query = prototype_query(vectors[:2], vectors[2:], 0.5)
    banned = {p for s in (*seeds, *negatives) for p in (s, s[::-1])}
    pairs = [(a, b) for a in words for b in words if a != b and (a, b) not in banned]
    truth = dict(zip(pairs, model.encode(pairs, precision="fp32") @ query, strict=True))
    assert_same_top([(m.pair, m.score) for m in found], truth, 6)
    with pytest.raises(ValueError, match="cancel out"):
        mine_pairs(model, words, [("w1", "w2")], negatives=[("w1", "w2")], negative_weight=1.0)


def test_the_fast_path_for_table_words_still_checks_every_other_pair(student):
    fast = student.encode([("cat", "kitten"), ("dog", "puppy")])
    assert np.allclose(fast, student.encode([["cat", "kitten"], [" dog ", "puppy"]]), atol=1e-6)
    for bad, problem in (([("cat", "kitten"), ("cat", " ")], "pair 1"), ([("cat", "kitten"), ("cat", 3)], "pair 1")):
        with pytest.raises(ValueError, match=problem):
            student.encode(bad)


def test_the_card_says_how_the_student_was_trained(student, tmp_path):
    card = (tmp_path / "static" / "README.md").read_text(encoding="utf-8")
    assert "**Training.**" in card and "1 − cos to the teacher's prompt vector" in card
    assert "epochs, the best on analogy valid kept (epoch" in card
    assert "completion loss" not in card  # off in this run
