"""Running an exported relation encoder with ONNX Runtime or OpenVINO instead of PyTorch.

An export (``relvec export``, :mod:`relvec.export`) is one graph from token ids to relvec's pooled
embedding (mask / average / average_no_mask pooling included), so its output *is* the model's vector;
templates and tokenisation stay in relvec. Files follow sentence-transformers' layout inside the model
folder: ``onnx/model.onnx``, ``onnx/model_int8.onnx``, ``openvino/openvino_model.xml`` (+ ``.bin``),
``openvino/openvino_model_int8.xml``, described by ``relvec_export.json``. An ONNX file is data (no
code runs when it loads); OpenVINO can also run an ONNX file directly.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relvec.extras import require
from relvec.files import FileFormatError, inside, read_json
from relvec.options import RUNTIMES

BACKENDS = RUNTIMES  # the runtimes a relation encoder runs on (its earlier name)
EXPORT_CONFIG = "relvec_export.json"
EXPORT_FORMAT_VERSION = 1
ONNX_FILE = "onnx/model.onnx"
ONNX_INT8_FILE = "onnx/model_int8.onnx"
OPENVINO_FILE = "openvino/openvino_model.xml"
OPENVINO_INT8_FILE = "openvino/openvino_model_int8.xml"
# What each backend looks for, in order, when no file_name is given (OpenVINO runs ONNX files too).
_CANDIDATES = {
    "onnx": (ONNX_FILE, ONNX_INT8_FILE),
    "openvino": (OPENVINO_FILE, OPENVINO_INT8_FILE, ONNX_FILE, ONNX_INT8_FILE),
}
_TORCH_WEIGHTS = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json")


def check_backend(backend: str) -> str:
    if backend not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, got {backend!r}")
    return backend


def export_file(folder: str | Path, backend: str, file_name: str | None = None) -> Path:
    """The exported graph ``backend`` runs from ``folder``: ``file_name`` (relative, inside the folder)
    or the first of the standard names that exists."""
    folder = Path(folder)
    if check_backend(backend) == "torch":
        raise ValueError("the torch backend runs the folder's own weights, not an exported file")
    if file_name is not None:
        path = inside(folder, file_name)
        if path is None or not path.is_file():
            raise ValueError(f"{folder}: file_name {file_name!r} is not a file inside the folder")
        return path
    for name in _CANDIDATES[backend]:
        if (folder / name).is_file():
            return folder / name
    raise ValueError(f"{folder} has no {backend} export: run `relvec export {folder} --format {backend}` first")


def exported_only(folder: str | Path) -> str | None:
    """The backend to use for a folder that holds an export but no PyTorch weights, else None."""
    folder = Path(folder)
    if not folder.is_dir() or any((folder / name).exists() for name in _TORCH_WEIGHTS):
        return None
    for backend in ("onnx", "openvino"):
        if any((folder / name).is_file() for name in _CANDIDATES[backend]):
            return backend
    return None


def read_export_config(folder: str | Path) -> dict[str, Any]:
    """The folder's export side file (``{"format_version", "exports": {file: details}}``), empty if none."""
    path = Path(folder) / EXPORT_CONFIG
    if not path.is_file():
        return {"format_version": EXPORT_FORMAT_VERSION, "exports": {}}
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("exports"), dict):
        raise FileFormatError(f"{path}: not a relvec export description (no 'exports' object)")
    if int(data.get("format_version", 0)) > EXPORT_FORMAT_VERSION:
        raise FileFormatError(f"{path}: format_version {data['format_version']} is newer than this relvec reads")
    return data


class ExportedGraph:
    """One exported graph, callable on a collated batch (token ids, attention mask, mask index) -> float32
    (batch, dim). Threads follow ``torch.get_num_threads()`` (what ``--threads`` sets)."""

    def __init__(self, path: str | Path, backend: str, threads: int | None = None, name: str | None = None) -> None:
        self.path = Path(path)
        self.name = name or self.path.name  # its name inside the model folder, e.g. onnx/model.onnx
        self.backend = check_backend(backend)
        threads = threads or torch.get_num_threads()
        if backend == "onnx":
            self._load_onnx(threads)
        else:
            self._load_openvino(threads)

    def _load_onnx(self, threads: int) -> None:
        ort = require("onnxruntime", "backend='onnx'")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self._session.get_inputs()]
        self.dim = _static_dim(self._session.get_outputs()[0].shape, self.path)

    def _load_openvino(self, threads: int) -> None:
        ov = require("openvino", "backend='openvino'")
        # f32 inference: OpenVINO would otherwise pick bf16 on AMX CPUs and drift from the exported model
        config = {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": threads}
        self._compiled = ov.Core().compile_model(str(self.path), "CPU", config)
        self.input_names = [port.get_any_name() for port in self._compiled.inputs]
        shape = self._compiled.outputs[0].get_partial_shape()
        self.dim = _static_dim([d.get_length() if d.is_static else None for d in shape], self.path)

    def copy_into(self, folder: Path) -> None:
        """Copy the graph's files (an OpenVINO ``.xml`` with its ``.bin``) into ``folder`` under its name."""
        target = folder / self.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.path, target)
        if self.path.suffix == ".xml":
            shutil.copyfile(self.path.with_suffix(".bin"), target.with_suffix(".bin"))

    def __call__(self, batch: dict[str, torch.Tensor]) -> np.ndarray:
        missing = [name for name in self.input_names if name not in batch]
        if missing:  # a learned (P-tuning) prompt's trigger slots, say
            raise ValueError(f"{self.path}: the graph needs inputs {missing} that relvec did not prepare")
        feed = {name: batch[name].cpu().numpy() for name in self.input_names}
        out = self._session.run(None, feed)[0] if self.backend == "onnx" else self._compiled(feed)[0]
        return np.ascontiguousarray(out, dtype=np.float32)


def _static_dim(shape: Any, path: Path) -> int:
    dim = list(shape)[-1]
    if not isinstance(dim, int) or dim < 1:
        raise FileFormatError(f"{path}: the graph's output has no fixed embedding dimension ({shape})")
    return dim
