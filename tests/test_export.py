"""Exported graphs (ONNX Runtime, OpenVINO) reproduce the PyTorch model's own vectors; loading picks them safely."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from relvec import RelationEncoder
from relvec.cli import main
from relvec.encoders.exported import EXPORT_CONFIG, exported_only
from relvec.encoders.hybrid import HybridEncoder
from relvec.encoders.loading import load_model
from relvec.encoders.offset import OffsetEncoder, WordVectors
from relvec.export import export_model

pytest.importorskip("onnxruntime")
PAIRS = [("aware", "this"), ("relation", "between"), ("today", "finally"), ("i", "encyclopedia"), ("s", "read")]
ANY = [("wasn", "aware"), ("read", "discovered"), ("that", "is")]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.fixture()
def saved(tiny_dir, tmp_path):
    def make(pooling: str):
        folder = tmp_path / f"model-{pooling}"
        RelationEncoder.from_pretrained(tiny_dir, pooling=pooling, device="cpu").save_pretrained(folder)
        return folder

    return make


@pytest.mark.parametrize("pooling", ["mask", "average", "average_no_mask"])
def test_fp32_onnx_export_is_the_models_own_vector(saved, pooling):
    folder = saved(pooling)
    path = export_model(folder, format="onnx", probe_pairs=32)
    assert path == folder / "onnx" / "model.onnx"
    torch_model = RelationEncoder.from_pretrained(folder)
    onnx_model = RelationEncoder.from_pretrained(folder, backend="onnx")
    assert onnx_model.graph is not None and onnx_model.embedding_dim == torch_model.embedding_dim
    expected = torch_model.encode(PAIRS, precision="fp32")
    got = onnx_model.encode(PAIRS, batch_size=2)  # several batches, sorted by length and restored
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(onnx_model.encode(PAIRS[2]), expected[2], atol=1e-5)
    side = json.loads((folder / EXPORT_CONFIG).read_text())["exports"]["onnx/model.onnx"]
    assert side["pooling"] == pooling and side["cosine_min"] >= 0.9999 and side["probe_pairs"] == 32
    assert ("mask_index" in side["inputs"]) == (pooling == "mask")


def test_int8_and_openvino_exports_stay_close(saved):
    pytest.importorskip("openvino")
    folder = saved("mask")
    expected = RelationEncoder.from_pretrained(folder).encode(ANY, precision="fp32")
    for fmt, quantize, file_name, bound in [
        ("onnx", "int8", "onnx/model_int8.onnx", 0.95),
        ("openvino", None, "openvino/openvino_model.xml", 0.9999),
        ("openvino", "int8", "openvino/openvino_model_int8.xml", 0.95),
    ]:
        export_model(folder, format=fmt, quantize=quantize, probe_pairs=32)
        model = RelationEncoder.from_pretrained(folder, backend=fmt, file_name=file_name)
        assert model.graph.name == file_name
        assert cosines(model.encode(ANY), expected).min() >= bound, file_name
    exports = json.loads((folder / EXPORT_CONFIG).read_text())["exports"]
    assert set(exports) == {"onnx/model_int8.onnx", "openvino/openvino_model.xml", "openvino/openvino_model_int8.xml"}
    # OpenVINO runs an ONNX file too
    export_model(folder, format="onnx", probe_pairs=8)
    via_ov = RelationEncoder.from_pretrained(folder, backend="openvino", file_name="onnx/model.onnx")
    np.testing.assert_allclose(via_ov.encode(ANY), expected, atol=1e-5)


def test_standalone_export_needs_no_weights_and_saves_as_itself(saved, tmp_path):
    folder = saved("mask")
    out = tmp_path / "standalone"
    export_model(folder, out, format="onnx", probe_pairs=8)
    assert not (out / "model.safetensors").exists() and exported_only(out) == "onnx"
    expected = RelationEncoder.from_pretrained(folder).encode(PAIRS, precision="fp32")
    loaded = load_model(str(out))  # no backend given: the only thing the folder can run
    np.testing.assert_allclose(loaded.encode(PAIRS), expected, atol=1e-5)
    loaded.save_pretrained(tmp_path / "again")
    np.testing.assert_allclose(load_model(str(tmp_path / "again")).encode(PAIRS), expected, atol=1e-5)


def test_a_hybrid_exports_its_prompt_part(tiny_dir, tmp_path):
    prompt = RelationEncoder.from_pretrained(tiny_dir, device="cpu")
    vectors = np.random.default_rng(0).normal(size=(6, 5)).astype(np.float32)
    static = OffsetEncoder(WordVectors(["aware", "this", "relation", "between", "today", "finally"], vectors))
    HybridEncoder(prompt, static, 0.5, bidirectional=True).save_pretrained(tmp_path / "hybrid")
    with pytest.raises(ValueError, match="in place"):
        export_model(tmp_path / "hybrid", tmp_path / "elsewhere")
    path = export_model(tmp_path / "hybrid", format="onnx", probe_pairs=8)
    assert path == tmp_path / "hybrid" / "prompt" / "onnx" / "model.onnx"
    expected = load_model(str(tmp_path / "hybrid")).encode(PAIRS, precision="fp32")
    exported = load_model(str(tmp_path / "hybrid"), backend="onnx")
    assert exported.prompt.graph is not None
    np.testing.assert_allclose(exported.encode(PAIRS), expected, atol=1e-5)


def test_backend_errors_are_clear(saved, tmp_path):
    folder = saved("mask")
    with pytest.raises(ValueError, match="runtime must be one of"):
        RelationEncoder.from_pretrained(folder, backend="tensorrt")
    with pytest.raises(ValueError, match="relvec export"):
        RelationEncoder.from_pretrained(folder, backend="onnx")
    export_model(folder, format="onnx", probe_pairs=8)
    with pytest.raises(ValueError, match="not a file inside"):
        RelationEncoder.from_pretrained(folder, backend="onnx", file_name="../model-mask/onnx/model.onnx")
    with pytest.raises(ValueError, match="cannot use 'average'"):
        RelationEncoder.from_pretrained(folder, backend="onnx", pooling="average")
    with pytest.raises(ValueError, match="does not apply"):
        load_model("offset", backend="onnx")
    with pytest.raises(ValueError, match="format must be"):
        export_model(folder, format="tflite")
    with pytest.raises(ValueError, match="not a folder"):
        export_model(tmp_path / "missing")


def test_cli_export_then_embed_with_the_backend(saved, tmp_path, capsys):
    folder = saved("average_no_mask")
    assert main(["export", str(folder), "--format", "onnx", "--probe-pairs", "8"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["format"] == "onnx" and summary["cosine_min"] >= 0.9999
    argv = ["embed", "--model", str(folder), "aware:this", "relation:between", "--output"]
    assert main([*argv, str(tmp_path / "onnx.npy"), "--runtime", "onnx"]) == 0
    assert main([*argv, str(tmp_path / "torch.npy"), "--precision", "fp32"]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "onnx.npy"), np.load(tmp_path / "torch.npy"), atol=1e-5)
    if pytest.importorskip("openvino"):  # OpenVINO runs the ONNX file when there is no IR
        assert main([*argv, str(tmp_path / "ov.npy"), "--runtime", "openvino"]) == 0
        np.testing.assert_allclose(np.load(tmp_path / "ov.npy"), np.load(tmp_path / "torch.npy"), atol=1e-5)


def test_a_missing_runtime_names_its_extra(saved, monkeypatch):
    folder = saved("mask")
    export_model(folder, format="onnx", probe_pairs=8)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'relvec\[onnx\]'"):
        RelationEncoder.from_pretrained(folder, backend="onnx")
    monkeypatch.setitem(sys.modules, "openvino", None)
    with pytest.raises(ImportError, match=r"pip install 'relvec\[openvino\]'"):
        RelationEncoder.from_pretrained(folder, backend="openvino")


def test_info_describes_an_export_folder(saved, tmp_path, capsys):
    folder = saved("mask")
    export_model(folder, tmp_path / "standalone", format="onnx", probe_pairs=8)
    assert main(["info", str(tmp_path / "standalone")]) == 0
    out = capsys.readouterr().out
    assert "onnx graph onnx/model.onnx" in out and "export onnx/model.onnx" in out and "min 1.0" in out
