"""Indexes of codes built shard by shard (relvec.code_index): what they keep, their exact top-1 on a toy set,
recall calibration, save/load, reduced models' names, and the CLI around them."""

import json

import numpy as np
import pytest

pytest.importorskip("faiss")
pytest.importorskip("pyarrow")

from relvec.bulk import SHARD_PATTERN, _check_manifest, _write_shard
from relvec.cli import main
from relvec.code_index import (
    CodeIndex,
    ShardReader,
    build_code_index,
    calibrate,
    exact_top,
    index_from_shards,
    open_index,
    recall_at,
)
from relvec.encoders.loading import localize, reference_for
from relvec.encoders.offset import OffsetEncoder, WordVectors
from relvec.encoders.reduction import fit_pca, save_reduction
from relvec.loading import load_model
from relvec.search import RelationIndex

# the identity's probe pairs are in the vocabulary, so two models' fingerprints differ
WORDS = ["paris", "france", "baker", "bread", "puppy", "dog", "hot", "cold"] + [f"w{i}" for i in range(32)]


@pytest.fixture(scope="module")
def offset_folder(tmp_path_factory):
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("offset") / "model"
    OffsetEncoder(WordVectors(WORDS, rng.normal(size=(40, 16)).astype(np.float32))).save_pretrained(folder)
    return folder


def toy_pairs():
    return [(a, b) for a in WORDS for b in WORDS if a != b][:1200]


def write_shards(folder, model_folder, rows, shard_size=500, dim=None):
    """Shards as `relvec embed --engine ray` writes them, embedded in this process (no Ray)."""
    model = load_model(str(model_folder), dim=dim)
    _check_manifest(folder, str(model_folder), len(rows), shard_size, dim)
    vectors = model.encode([r for r in rows if r[1]]) if rows else None
    full = np.full((len(rows), model.embedding_dim), np.nan, dtype=np.float32)
    full[[i for i, r in enumerate(rows) if r[1]]] = vectors
    for shard, start in enumerate(range(0, len(rows), shard_size)):
        part = slice(start, start + shard_size)
        ids = np.arange(len(rows))[part]
        _write_shard(
            folder / SHARD_PATTERN.format(shard),
            {
                "row_id": ids,
                "head": np.asarray([rows[i][0] for i in ids], dtype=object),
                "tail": np.asarray([rows[i][1] for i in ids], dtype=object),
                "embedding": full[part],
                "error": np.asarray(["" if rows[i][1] else f"row {i}: empty tail" for i in ids], dtype=object),
            },
            int(model.embedding_dim),
        )
    return folder


@pytest.fixture(scope="module")
def shards(tmp_path_factory, offset_folder):
    rows = toy_pairs()
    rows[10] = rows[3]  # a repeated pair: kept once, at its first row
    rows[700] = ("w1", "")  # an error row: left out
    return write_shards(tmp_path_factory.mktemp("shards"), offset_folder, rows)


def test_the_reader_keeps_good_distinct_rows_in_order(shards):
    reader = ShardReader(shards)
    pairs = [(reader.words[h], reader.words[t]) for h, t in reader.pairs]
    expected = list(dict.fromkeys(p for p in [*toy_pairs()[:10], toy_pairs()[3], *toy_pairs()[11:]] if p))
    expected.remove(toy_pairs()[700])
    assert pairs == expected and len(reader) == 1198
    everything = np.concatenate(list(reader.iter_vectors()))
    reference = RelationIndex.from_shards(shards, "exact").vectors
    np.testing.assert_allclose(everything, reference, atol=1e-6)
    rows = np.array([0, 5, 499, 500, 1197])
    np.testing.assert_allclose(np.concatenate(list(reader.iter_vectors(rows))), everything[rows], atol=1e-6)


def test_codes_return_the_exact_top1_and_calibrate_to_a_recall(shards, tmp_path):
    reader = ShardReader(shards)
    index = build_code_index(shards, "faiss-ivf-sq8", lists=8, effort=8, reader=reader)  # every list probed
    vectors = np.concatenate(list(reader.iter_vectors()))
    rows, _ = index.search_rows(vectors[:50], 1)
    assert list(rows[:, 0]) == list(range(50))  # each stored pair is its own nearest
    truth, _scores = exact_top(reader, vectors[100:140], 10)
    exact = RelationIndex(index_pairs(index), vectors, {}).search(vectors[100:140], k=10)
    assert [[index.pair(r) for r in row] for row in truth] == [[n.pair for n in found] for found in exact]
    calibrated = calibrate(index, vectors[100:140], truth, target=0.9)
    assert calibrated["recall"] >= 0.9 and index.effort == calibrated["effort"] <= 8
    assert recall_at(index.search_rows(vectors[100:140], 10)[0], truth) == calibrated["recall"]


def index_pairs(index):
    return [index.pair(r) for r in range(len(index))]


def test_a_code_index_round_trips_and_checks_its_model(shards, tmp_path, offset_folder):
    index = build_code_index(shards, "faiss-ivf-sq8", lists=8, effort=4)
    folder = index.save(tmp_path / "index")
    again = open_index(folder)
    assert isinstance(again, CodeIndex) and again.effort == 4 and len(again) == len(index)
    model = load_model(str(offset_folder))
    found = again.query(model, [("w1", "w2"), ("w3", "w9")], k=5)
    assert [n.pair for n in found[0]] == [n.pair for n in index.query(model, [("w1", "w2")], k=5)[0]]
    assert ("w1", "w2") not in [n.pair for n in found[0]]  # the query pair itself is left out
    other = OffsetEncoder(WordVectors(WORDS, np.random.default_rng(5).normal(size=(40, 16)).astype(np.float32)))
    with pytest.raises(ValueError, match="embeds pairs differently"):
        again.query(other, [("w1", "w2")])
    with pytest.raises(ValueError, match="codes only"):
        open_index(folder, backend="exact")
    assert "/" not in json.dumps(json.loads((folder / "index.json").read_text())["model"].get("name", ""))


def test_auto_keeps_small_shards_in_memory_and_flags_belong_to_codes(shards):
    assert isinstance(index_from_shards(shards), RelationIndex)
    with pytest.raises(ValueError, match="in memory"):
        index_from_shards(shards, "exact", effort=4)
    assert isinstance(index_from_shards(shards, "faiss-ivf-sq8", lists=4), CodeIndex)
    with pytest.raises(ValueError, match="lists"):
        build_code_index(shards, "faiss-hnsw-sq8", lists=4)


def test_a_reduced_models_name_resolves_from_a_saved_folder(tmp_path, offset_folder):
    model = load_model(str(offset_folder))
    save_reduction(fit_pca(model.encode(toy_pairs()), 8), offset_folder)
    reduced = load_model(str(offset_folder), dim=6)
    saved = reference_for(reduced.name_or_path, tmp_path / "index")
    assert saved["name"].endswith("@dim6") and not saved["path"].endswith("@dim6")
    assert localize(saved, tmp_path / "index")["name"].endswith("model@dim6")
    folder = write_shards(tmp_path / "reduced", offset_folder, toy_pairs()[:300], shard_size=100, dim=6)
    build_code_index(folder, effort=64).save(tmp_path / "index")  # HNSW
    code = main(["neighbours", "query", "w1:w2", "--index", str(tmp_path / "index"), "-k", "3", "--json"])
    assert code == 0  # the index's model, loaded with its size from the name alone


def test_the_cli_builds_and_queries_codes(shards, tmp_path, offset_folder, capsys):
    out = tmp_path / "index"
    args = ["neighbours", "build", "--from-shards", str(shards), "--backend", "faiss-ivf-sq8", "--output", str(out)]
    assert main([*args, "--lists", "4", "--nprobe", "2"]) == 0
    assert CodeIndex.load(out).effort == 2 and CodeIndex.load(out).index.nlist == 4
    capsys.readouterr()
    assert main(["neighbours", "query", "w1:w2", "--index", str(out), "-k", "3", "--json"]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["query"] == ["w1", "w2"] and len(line["neighbours"]) == 3
    bad = ["neighbours", "build", "--input", str(tmp_path / "x.tsv"), "--nprobe", "3", "--output", str(tmp_path / "y")]
    assert main(bad) != 0
    assert "--from-shards" in capsys.readouterr().err
    assert main([*args, "--ef-search", "64"]) != 0
    assert "faiss-ivf-sq8 takes --nprobe" in capsys.readouterr().err


def test_a_code_index_is_served(shards, offset_folder):
    fastapi = pytest.importorskip("fastapi.testclient")
    from relvec.serve import create_app

    index = build_code_index(shards, "faiss-ivf-sq8", lists=8, effort=8)
    model = load_model(str(offset_folder))
    client = fastapi.TestClient(create_app(model, index=index, completion=False))
    found = client.post("/neighbours", json={"pairs": [["w1", "w2"]], "k": 3}).json()["neighbours"][0]
    assert [tuple(n["pair"]) for n in found] == [n.pair for n in index.query(model, [("w1", "w2")], k=3)[0]]
    like = client.post("/like", json={"pairs": [["w1", "w2"], ["w3", "w4"]], "k": 2})
    assert like.status_code == 200 and len(like.json()["neighbours"]) == 2
    refused = client.get("/map")
    assert refused.status_code == 422 and "codes only" in refused.text


def test_an_hnsw_of_codes_finds_each_pairs_own_vector_and_is_tie_stable(shards, tmp_path):
    reader = ShardReader(shards)
    index = build_code_index(shards, "faiss-hnsw-sq8", effort=256, reader=reader)
    vectors = np.concatenate(list(reader.iter_vectors()))
    rows, _ = index.search_rows(vectors[:50], 1)
    assert list(rows[:, 0]) == list(range(50))
    truth, _ = exact_top(reader, vectors[200:240], 10)
    assert recall_at(index.search_rows(vectors[200:240], 10)[0], truth) >= 0.9
    folder = index.save(tmp_path / "hnsw")
    again = CodeIndex.load(folder)
    assert again.backend == "faiss-hnsw-sq8" and again.effort == 256
    first, scores = again.search_rows(vectors[200:210], 10)
    assert np.array_equal(first, index.search_rows(vectors[200:210], 10)[0])
    assert all(np.all(np.diff(s) <= 0) for s in scores)  # best first
