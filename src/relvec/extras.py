"""Optional dependencies: imported where a feature needs them, with one clear line when one is missing."""

from __future__ import annotations

import importlib
from collections.abc import Callable
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


def lazy_names(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A package's ``__getattr__`` that imports ``exports`` (name -> module, relative to ``package`` when it starts
    with a dot) on first use, so importing the package loads none of them."""

    def attribute(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = exports[name]
        return getattr(importlib.import_module(package + module if module.startswith(".") else module), name)

    return attribute
