"""Bulk embedding on a local Ray instance: equal to single-process encode, every row once, order restorable,
bad rows reported and not fatal, reruns skip finished shards, shards feed the search index."""

import json

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # a local Ray instance: run once per `make test`, not again in the bf16 pass
ray = pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")

from relvec.bulk import MANIFEST, embed_dataset, embed_to_shards, read_shards, shard_files  # noqa: E402
from relvec.cli import main  # noqa: E402
from relvec.encoders.prompt import RelationEncoder  # noqa: E402

WORDS = ["cat", "dog", "animal", "car", "wheel", "house", "door", "tree", "leaf", "sun"]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()


def pairs(n: int) -> list[tuple[str, str]]:
    return [(WORDS[i % 10], WORDS[(3 * i + 1) % 10] + ("s" if i % 7 == 0 else "")) for i in range(n)]


def write_tsv(path, rows):
    path.write_text("".join(f"{h}\t{t}\n" for h, t in rows))
    return path


def test_embed_dataset_equals_encode(local_ray, tiny_dir):
    rows = pairs(40)
    ds = ray.data.from_items(
        [{"row_id": i, "head": h, "tail": t} for i, (h, t) in enumerate(rows)], override_num_blocks=4
    )
    out = embed_dataset(ds, str(tiny_dir), workers=2, batch_size=16).to_pandas().sort_values("row_id")
    expected = RelationEncoder.from_pretrained(tiny_dir).encode(rows)
    got = np.stack(out["embedding"].to_numpy())
    cos = (got * expected).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(expected, axis=1)
    assert cos.min() >= 0.9999 and list(out["row_id"]) == list(range(40))


def test_sharded_job_resumes_and_reports_bad_rows(local_ray, tiny_dir, tmp_path):
    rows = pairs(50)
    rows[17] = ("cat", "\u200b")  # a format-only word: reported, not fatal
    source = write_tsv(tmp_path / "pairs.tsv", rows)
    out = tmp_path / "shards"
    summary = embed_to_shards(source, out, str(tiny_dir), workers=2, batch_size=8, shard_size=20)
    assert summary["shards"] == 3 and summary["written"] == 3 and len(summary["errors"]) == 1
    assert summary["errors"][0].startswith("row 17:")
    tables = [pq.read_table(p) for p in shard_files(out)]
    ids = [i for t in tables for i in t.column("row_id").to_pylist()]
    assert ids == list(range(50))  # every row once, in order
    first = tables[0].to_pydict()
    assert first["head"][3] == rows[3][0] and first["error"][17] and not first["error"][3]
    assert tables[0].schema.field("embedding").type.list_size == 32
    expected = RelationEncoder.from_pretrained(tiny_dir).encode([r for i, r in enumerate(rows) if i != 17])
    found, matrix, manifest = read_shards(out)
    assert found == [r for i, r in enumerate(rows) if i != 17] and manifest["rows"] == 50
    unit = expected / np.linalg.norm(expected, axis=1, keepdims=True)
    assert (matrix * unit).sum(1).min() >= 0.9999
    index_dir = tmp_path / "index"
    assert main(["neighbours", "build", "--from-shards", str(out), "--output", str(index_dir)]) == 0
    from relvec.search import RelationIndex

    index = RelationIndex.load(index_dir)
    assert len(index) == len(set(found)) and index.backend == "exact"
    (neighbours,) = index.query(RelationEncoder.from_pretrained(tiny_dir), [rows[0]], k=3, exclude_self=False)
    assert neighbours[0].pair == rows[0]
    (out / "part-00001.parquet").unlink()
    before = (out / "part-00000.parquet").stat().st_mtime_ns
    again = embed_to_shards(source, out, str(tiny_dir), workers=2, batch_size=8, shard_size=20)
    assert again["written"] == 1 and again["skipped"] == 2
    assert (out / "part-00000.parquet").stat().st_mtime_ns == before
    with pytest.raises(ValueError, match="another job"):
        embed_to_shards(source, out, str(tiny_dir), workers=2, batch_size=8, shard_size=25)
    assert json.loads((out / MANIFEST).read_text())["shard_size"] == 20


def test_cli_engine_ray(local_ray, tiny_dir, tmp_path, capsys):
    source = tmp_path / "pairs.jsonl"
    source.write_text("".join(json.dumps({"head": h, "tail": t}) + "\n" for h, t in pairs(12)))
    out = tmp_path / "cli"
    argv = ["embed", "--engine", "ray", "--model", str(tiny_dir), "--input", str(source), "--output", str(out)]
    assert main([*argv, "--shard-size", "5", "--workers", "1"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary == {"rows": 12, "shards": 3, "written": 3, "skipped": 0, "errors": 0}
    assert main(["embed", "--engine", "ray", "--model", str(tiny_dir), "cat:dog", "--output", str(out)]) == 1
    assert "--input FILE" in capsys.readouterr().err


def test_engine_ray_takes_dim_and_precision(local_ray, tiny_dir, tmp_path, capsys):
    import shutil

    from relvec.code_index import CodeIndex
    from relvec.encoders.reduction import fit_pca, save_reduction
    from relvec.loading import load_model

    folder = tmp_path / "model"
    shutil.copytree(tiny_dir, folder)
    rows = pairs(30)
    save_reduction(fit_pca(load_model(str(folder)).encode(rows), 6), folder)
    source = write_tsv(tmp_path / "pairs.tsv", rows)
    out = tmp_path / "reduced"
    argv = ["embed", "--engine", "ray", "--model", str(folder), "--input", str(source), "--output", str(out)]
    assert main([*argv, "--dim", "4", "--precision", "fp32", "--workers", "1"]) == 0
    table = pq.read_table(shard_files(out)[0])
    got = np.stack(table.column("embedding").to_numpy(zero_copy_only=False))
    np.testing.assert_allclose(got, load_model(str(folder), dim=4).encode(rows), atol=1e-4)
    assert json.loads((out / MANIFEST).read_text())["identity"]["name"].endswith("@dim4")
    index = tmp_path / "index"
    assert (
        main(
            [
                "neighbours",
                "build",
                "--from-shards",
                str(out),
                "--backend",
                "faiss-ivf-sq8",
                "--lists",
                "2",
                "--output",
                str(index),
            ]
        )
        == 0
    )
    assert CodeIndex.load(index).dim == 4
    assert main(["neighbours", "query", "cat:dog", "--index", str(index), "-k", "2"]) == 0  # its model, from the name
    assert main([*argv[:-1], str(tmp_path / "again"), "--runtime", "onnx"]) == 1
    assert "--runtime" in capsys.readouterr().err


def test_the_input_table_reads_parquet_strings_as_they_are(tmp_path):
    import pyarrow as pa

    from relvec.bulk import input_table

    path = tmp_path / "pairs.parquet"
    pq.write_table(pa.table({"head": ["cat", None, "sun"], "tail": ["kitten", "dog", "planet"], "x": [1, 2, 3]}), path)
    table = input_table(path)
    assert table.column_names == ["head", "tail"] and table.column("head").to_pylist() == ["cat", "", "sun"]
    numbers = tmp_path / "numbers.parquet"
    pq.write_table(pa.table({"head": [1, 2], "tail": ["a", "b"]}), numbers)  # not strings: each row "" (an error)
    assert input_table(numbers).column("head").to_pylist() == ["", ""]
    tsv = write_tsv(tmp_path / "pairs.tsv", pairs(4))
    assert list(zip(*(input_table(tsv).column(c).to_pylist() for c in ("head", "tail")), strict=True)) == pairs(4)
