"""Optional dependencies: imported where a feature needs them, with one clear line when one is missing."""

from __future__ import annotations

import importlib
from typing import Any

# import name -> (pip distribution, relvec extra)
_EXTRAS = {
    "matplotlib": ("matplotlib", "plot"),
    "sklearn": ("scikit-learn", "sklearn"),
    "yaml": ("PyYAML", "yaml"),
    "pyarrow": ("pyarrow", "ray"),
    "onnxruntime": ("onnxruntime", "onnx"),
    "onnx": ("onnx", "onnx"),
    "openvino": ("openvino", "openvino"),
    "nncf": ("nncf", "openvino"),
    "selenium": ("selenium", "browser"),
    "model2vec": ("model2vec", "distill"),
}


def require(module: str, purpose: str) -> Any:
    """Import ``module`` (a top-level name such as ``sklearn``) or say which extra brings it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        dist, extra = _EXTRAS.get(module.split(".")[0], (module, module))
        raise ImportError(f"{purpose} needs {dist}: pip install 'relvec[{extra}]'") from None


def available(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True
