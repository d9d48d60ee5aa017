"""``relvec export``: a relation encoder as one ONNX or OpenVINO graph (fp32 or int8), verified against PyTorch.

The graph maps ``input_ids`` / ``attention_mask`` (and ``mask_index`` for mask pooling) to relvec's pooled
embedding, so ``RelationEncoder.from_pretrained(folder, backend="onnx")`` gives the model's own vectors
(templates and tokenisation stay in relvec). Files go into the model folder in sentence-transformers'
layout (:mod:`relvec.encoders.exported`), or into a standalone folder (``output``) holding the export,
the tokenizer and the settings but no PyTorch weights. A hybrid exports its prompt part.

int8: ONNX Runtime's dynamic quantisation (int8 weights, activations quantised per batch, per-channel);
OpenVINO's post-training quantisation (NNCF, weights and activations), calibrated on prompts of random
vocabulary-word pairs (seeded, so an export is reproducible and needs no dataset).
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from relvec.config import CONFIG_NAME
from relvec.encoders.exported import (
    EXPORT_CONFIG,
    EXPORT_FORMAT_VERSION,
    ONNX_FILE,
    ONNX_INT8_FILE,
    OPENVINO_FILE,
    OPENVINO_INT8_FILE,
    ExportedGraph,
    read_export_config,
)
from relvec.encoders.hybrid import read_hybrid_config
from relvec.encoders.prompt import RelationEncoder
from relvec.extras import require
from relvec.files import save_into
from relvec.options import EXPORT_FORMATS, QUANTIZATIONS
from relvec.pooling import pool
from relvec.version import __version__

FORMATS = EXPORT_FORMATS
OPSET = 17
# An fp32 export must reproduce PyTorch fp32 to this cosine on every probe pair, or it is not written.
FP32_MIN_COSINE = 0.9999
_FILES = {("onnx", None): ONNX_FILE, ("onnx", "int8"): ONNX_INT8_FILE}
_FILES |= {("openvino", None): OPENVINO_FILE, ("openvino", "int8"): OPENVINO_INT8_FILE}
_INPUTS = ("input_ids", "attention_mask", "mask_index")


class PooledGraph(nn.Module):
    """Backbone + relvec pooling as one module: what the exported graph computes."""

    def __init__(self, model: RelationEncoder) -> None:
        super().__init__()
        self.backbone = model.backbone
        self.mask_token_id = int(model.tokenizer.mask_token_id)
        self.mode = model.pooling

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, mask_index: torch.Tensor) -> torch.Tensor:
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return pool(hidden, attention_mask, input_ids == self.mask_token_id, mask_index, self.mode)


def export_model(
    source: str | Path,
    output: str | Path | None = None,
    *,
    format: str = "openvino",
    quantize: str | None = None,
    probe_pairs: int = 256,
) -> Path:
    """Export the relation encoder in folder ``source`` (a hybrid: its prompt part) and return the graph's path.

    ``output`` None writes into the model's own folder; a folder path writes a standalone export there.
    The export is checked on ``probe_pairs`` seeded word pairs against PyTorch fp32: the minimum and
    mean cosine are recorded in ``relvec_export.json`` (an fp32 export below 0.9999 is refused).
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {', '.join(QUANTIZATIONS)} or None, got {quantize!r}")
    folder = _prompt_folder(Path(source), output)
    model = RelationEncoder.from_pretrained(folder, device="cpu")
    if model.prompt_encoder is not None:
        raise ValueError(f"{source}: a P-tuning (continuous) prompt cannot be exported; use a manual or autoprompt one")
    target = Path(output) if output is not None else folder
    name = _FILES[(format, quantize)]
    pairs = probe_word_pairs(model, probe_pairs, seed=0)

    def write(staging: Path) -> None:
        if output is not None:  # standalone: what loading needs besides the graph
            model.tokenizer.save_pretrained(staging)
            model.backbone.config.save_pretrained(staging)
            model.config.save(staging)
        with tempfile.TemporaryDirectory() as work:
            onnx_path = Path(work) / "model.onnx"
            export_onnx(model, onnx_path)
            _convert(model, onnx_path, staging / name, format, quantize)
        graph = ExportedGraph(staging / name, format, name=name)
        agreement = compare(model, graph, pairs)
        if quantize is None and agreement["cosine_min"] < FP32_MIN_COSINE:
            raise ValueError(
                f"{source}: the fp32 {format} export agrees with PyTorch only to cosine {agreement['cosine_min']:.6f} "
                f"(< {FP32_MIN_COSINE}); not written"
            )
        side = read_export_config(target)
        side["format_version"] = EXPORT_FORMAT_VERSION
        side["exports"][name] = {
            "format": format,
            "quantize": quantize,
            "pooling": model.pooling,
            "embedding_dim": model.embedding_dim,
            "inputs": graph.input_names,
            "opset": OPSET,
            "probe_pairs": len(pairs),
            **agreement,
            "relvec_version": __version__,
        }
        side["source"] = Path(source).name
        (staging / EXPORT_CONFIG).write_text(json.dumps(side, indent=2) + "\n", encoding="utf-8")

    save_into(target, write, last=(EXPORT_CONFIG, CONFIG_NAME))
    return target / name


def _prompt_folder(source: Path, output: str | Path | None) -> Path:
    if not source.is_dir():
        raise ValueError(f"{source}: not a folder; export takes a saved relvec model folder")
    hybrid = read_hybrid_config(source)
    if hybrid is None:
        return source
    if output is not None:
        raise ValueError(f"{source} is a hybrid: its prompt part is exported in place (drop --output)")
    return source / str(hybrid.get("prompt", "prompt"))


def export_onnx(model: RelationEncoder, path: Path) -> None:
    """Trace backbone + pooling to an ONNX graph with dynamic batch and sequence axes."""
    require("onnx", "ONNX export")
    graph = PooledGraph(model).eval()
    batch = model.collate(model.tokenize([("Tokyo", "Japan"), ("barista", "coffee")]))
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}}
    axes |= {"mask_index": {0: "batch"}, "embedding": {0: "batch"}}
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracing notes
        torch.onnx.export(
            graph,
            tuple(batch[k] for k in _INPUTS),
            str(path),
            input_names=list(_INPUTS),
            output_names=["embedding"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


def _convert(model: RelationEncoder, onnx_path: Path, target: Path, format: str, quantize: str | None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if format == "onnx":
        if quantize is None:
            shutil.copyfile(onnx_path, target)
            return
        quantization = require("onnxruntime.quantization", "int8 ONNX export")
        quantization.quantize_dynamic(
            str(onnx_path),
            str(target),
            weight_type=quantization.QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=_kept_in_fp32(onnx_path),
            extra_options={"MatMulConstBOnly": True},
        )
        return
    ov = require("openvino", "OpenVINO export")
    converted = ov.convert_model(str(onnx_path))
    if quantize is not None:
        nncf = require("nncf", "int8 OpenVINO export")
        batches = _calibration_batches(model, probe_word_pairs(model, 256, seed=1))
        kept = _kept_in_fp32(onnx_path)
        converted = nncf.quantize(
            converted,
            nncf.Dataset(batches),
            model_type=nncf.ModelType.TRANSFORMER,
            subset_size=len(batches),
            ignored_scope=nncf.IgnoredScope(names=kept, validate=False) if kept else None,
        )
    ov.save_model(converted, str(target), compress_to_fp16=False)


def _kept_in_fp32(onnx_path: Path) -> list[str]:
    """The feed-forward output projections (``…/output/dense/MatMul``, not the attention's): their inputs carry
    outlier activations that int8 per-tensor scales destroy (a fine-tuned MPNet kept cosine 0.66 to fp32 with
    them quantised, 0.98 without), so int8 exports keep them in fp32."""
    onnx = require("onnx", "int8 export")
    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    return [
        node.name
        for node in graph.node
        if node.op_type == "MatMul" and node.name.endswith("output/dense/MatMul") and "attention" not in node.name
    ]


def _calibration_batches(model: RelationEncoder, pairs: list[tuple[str, str]], size: int = 16) -> list[dict[str, Any]]:
    features = model.tokenize(pairs)
    names = [n for n in _INPUTS if n != "mask_index" or model.pooling == "mask"]
    batches = []
    for start in range(0, len(features), size):
        batch = model.collate(features[start : start + size])
        batches.append({n: batch[n].numpy() for n in names})
    return batches


def probe_word_pairs(model: RelationEncoder, count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` seeded pairs of whole-word alphabetic vocabulary tokens (no dataset needed)."""
    vocab = sorted(w for w in model.tokenizer.get_vocab() if w.isascii() and w.isalpha() and len(w) > 2)
    if len(vocab) < 2:
        raise ValueError("the tokenizer has too few whole-word tokens to draw probe pairs from")
    rng = random.Random(seed)
    return [(rng.choice(vocab), rng.choice(vocab)) for _ in range(count)]


def compare(model: RelationEncoder, graph: ExportedGraph, pairs: list[tuple[str, str]]) -> dict[str, float]:
    """Cosine between PyTorch fp32 and the exported graph's vectors for ``pairs``: min and mean."""
    exported = RelationEncoder(None, model.tokenizer, model.config, graph=graph)
    a = np.asarray(model.encode(pairs, precision="fp32", show_progress_bar=False), dtype=np.float64)
    b = np.asarray(exported.encode(pairs, show_progress_bar=False), dtype=np.float64)
    cos = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    return {"cosine_min": round(float(cos.min()), 6), "cosine_mean": round(float(cos.mean()), 6)}
