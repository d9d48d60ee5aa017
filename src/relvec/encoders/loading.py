"""One entry point for every model kind: trained folders, backbones, and the baselines."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from relvec.backbones import DEFAULT_BACKBONE
from relvec.config import read_typed_config
from relvec.files import short_repr
from relvec.options import DEFAULT_PRECISION, DEFAULT_RUNTIME, RUNTIMES, check_choice
from relvec.precision import check_precision

# Pairs whose embeddings fingerprint a model (used to check that an index matches its model).
PROBE_PAIRS = (("paris", "france"), ("baker", "bread"), ("puppy", "dog"), ("hot", "cold"))
GLOVE = "glove-6b-50d"  # the offset baseline's default vectors (relvec.encoders.offset.GLOVE_NAME)


def load_model(
    spec: str | Path,
    *,
    template: str | None = None,
    pooling: str | None = None,
    precision: str = DEFAULT_PRECISION,
    runtime: str = DEFAULT_RUNTIME,
    backend: str | None = None,
    dim: int | None = None,
    **kwargs: Any,
) -> Any:
    """Load a model from a spec.

    - ``offset`` / ``offset:PATH``: the offset baseline (GloVe 6B 50d, or a saved offset folder);
      ``offset:encoder:BACKBONE``: offsets of a sentence encoder's word vectors (:mod:`relvec.encoders.word_vectors`);
    - ``vanilla`` / ``vanilla:BACKBONE``: an untuned backbone with a template (the paper's no-fine-tuning row);
    - ``hybrid:MODEL[@WEIGHT]``: MODEL's embedding joined with the GloVe offset (weight 1 by default),
      see :mod:`relvec.encoders.hybrid`;
    - anything else: :meth:`RelationEncoder.from_pretrained` (relvec folder, backbone folder, alias, hub id),
      or a saved offset, hybrid or static relation folder; ``HYBRID_FOLDER@WEIGHT`` reads a saved hybrid at another
      weight.

    ``precision`` ("auto", "fp32", "bf16") becomes the model's default: every later ``encode()`` (and completion,
    mining, search, serving) honours it. ``runtime`` ("torch", "onnx", "openvino"; ``backend`` is its earlier name)
    runs a relation encoder, or a hybrid's prompt part, from its export (``relvec export``); static models are numpy
    and take only "torch". ``dim`` reduces the vectors to that size with the PCA stored in the folder
    (``relvec reduce``; :mod:`relvec.encoders.reduction`). Each model kind's module is imported only when that kind
    is asked for.
    """
    runtime = check_choice("runtime", backend or runtime, RUNTIMES)
    check_precision(precision)
    if runtime != "torch":
        kwargs["backend"] = runtime
    model = _load(str(spec), template, pooling, **kwargs)
    model.precision = precision
    return model if dim is None else _reduced(model, str(spec), dim)


def _reduced(model: Any, spec: str, dim: int) -> Any:
    """``model`` reduced to ``dim`` by its folder's PCA (clear errors for a bad size or a folder without one)."""
    from relvec.encoders.reduction import ReducedEncoder, read_reduction

    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim (--dim) must be a positive integer, got {dim!r}")
    if dim > int(model.embedding_dim):
        raise ValueError(f"dim (--dim) {dim} is larger than {spec}'s {model.embedding_dim} dimensions")
    reduction = read_reduction(spec) if Path(spec).is_dir() else None
    if reduction is None:
        raise ValueError(f"dim (--dim): {spec} holds no reduction; fit one with `relvec reduce {spec} --dim {dim}`")
    return ReducedEncoder(model, reduction, dim)


def _load(text: str, template: str | None, pooling: str | None, **kwargs: Any) -> Any:
    if Path(text).is_dir():  # a folder that exists wins over every spec syntax (``offset:``, ``@WEIGHT``)
        return _load_folder(text, template, pooling, **kwargs)
    kind, _, rest = text.partition(":")
    if kind == "offset":
        from relvec.encoders.offset import OffsetEncoder

        _no_prompt_options("offset", template, pooling, kwargs.get("backend"))
        return OffsetEncoder.from_pretrained(rest or GLOVE, bool(kwargs.get("local_files_only")))
    if kind == "vanilla":
        from relvec.encoders.prompt import RelationEncoder

        model = RelationEncoder.from_pretrained(rest or DEFAULT_BACKBONE, template=template, pooling=pooling, **kwargs)
        if model.config.training:
            raise ValueError(f"{text}: vanilla means an untuned backbone, but {rest} is a fine-tuned relvec model")
        model.name_or_path = text
        return model
    if kind == "hybrid":
        from relvec.encoders.hybrid import HybridEncoder
        from relvec.encoders.offset import OffsetEncoder

        inner, weight = _split_weight(rest)
        prompt = _load(inner or DEFAULT_BACKBONE, template, pooling, **kwargs)
        return HybridEncoder(prompt, OffsetEncoder.from_pretrained(GLOVE), weight, name_or_path=text)
    folder, weight = _split_weight(text)
    if folder != text and Path(folder).is_dir() and _kind_of(folder) == "hybrid":
        from relvec.encoders.hybrid import HybridEncoder

        model = HybridEncoder.from_pretrained(folder, weight, template=template, pooling=pooling, **kwargs)
        model.name_or_path = text
        return model
    from relvec.encoders.prompt import RelationEncoder

    return RelationEncoder.from_pretrained(text, template=template, pooling=pooling, **kwargs)


def _kind_of(folder: str | Path) -> str | None:
    """The model type a folder's side file names (None: no side file of a relvec kind; a relation encoder's
    side file has none)."""
    for kind in ("static_relation", "static_offset", "hybrid"):
        if read_typed_config(folder, kind) is not None:
            return kind
    return None


def _split_weight(text: str) -> tuple[str, float]:
    """``MODEL@WEIGHT`` -> (MODEL, WEIGHT); no ``@number`` suffix means weight 1."""
    head, sep, tail = text.rpartition("@")
    if sep:
        try:
            return head, float(tail)
        except ValueError:
            pass
    return text, 1.0


def _no_prompt_options(name: str, template: str | None, pooling: str | None, backend: str | None = None) -> None:
    if template is not None or pooling is not None:
        raise ValueError(
            f"{name} is a word-vector model (offset or static relation): --template / --pooling do not apply"
        )
    if backend not in (None, "torch"):
        raise ValueError(f"{name} is a static model (numpy): --runtime {backend} does not apply")


def _load_folder(text: str, template: str | None, pooling: str | None, **kwargs: Any) -> Any:
    kind = _kind_of(text)
    if kind == "static_relation":
        from relvec.encoders.static_relation import StaticRelationEncoder

        _no_prompt_options(text, template, pooling, kwargs.get("backend"))
        return StaticRelationEncoder.from_pretrained(text)
    if kind == "static_offset":
        from relvec.encoders.offset import OffsetEncoder

        _no_prompt_options(text, template, pooling, kwargs.get("backend"))
        return OffsetEncoder.from_pretrained(text)
    if kind == "hybrid":
        from relvec.encoders.hybrid import HybridEncoder

        return HybridEncoder.from_pretrained(text, template=template, pooling=pooling, **kwargs)
    from relvec.encoders.prompt import RelationEncoder

    return RelationEncoder.from_pretrained(text, template=template, pooling=pooling, **kwargs)


def reference_for(name: str, saved_folder: str | Path) -> dict[str, str]:
    """How a file saved in ``saved_folder`` names its model: ``name`` (never an absolute machine path)
    and, for a local folder, ``path`` relative to ``saved_folder``, so it resolves from any working directory."""
    base, suffix = _split_dim(name)  # a reduced model: its folder, and the size kept in the name
    if not Path(base).exists():
        return {"name": name}
    target = Path(base).resolve()
    shown = target.name if Path(base).is_absolute() else base
    return {"name": shown + suffix, "path": os.path.relpath(target, Path(saved_folder).resolve())}


def _split_dim(name: str) -> tuple[str, str]:
    """("folder", "@dimN") for a reduced model's name (:class:`~relvec.encoders.reduction.ReducedEncoder`)."""
    found = re.fullmatch(r"(.+)(@dim\d+)", name)
    return (found.group(1), found.group(2)) if found else (name, "")


def localize(identity: dict[str, Any], saved_folder: str | Path) -> dict[str, Any]:
    """A saved identity made usable here: a ``path`` that resolves (relative to ``saved_folder``) becomes the name."""
    out = dict(identity)
    relative = out.pop("path", None)
    if isinstance(relative, str) and relative and not Path(relative).is_absolute():
        candidate = Path(saved_folder) / relative
        if candidate.is_dir():
            out["name"] = os.path.normpath(candidate) + _split_dim(str(out.get("name", "")))[1]
    return out


def load_named_model(identity: dict[str, Any], saved_folder: str | Path, **kwargs: Any) -> Any:
    """Load the model a saved file names (see :func:`localize`), from this machine only: a local folder,
    an installed backbone or a baseline. Nothing a file names is downloaded."""
    name = localize(identity, saved_folder).get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{saved_folder}: names no embedding model; pass --model")
    name, suffix = _split_dim(name)
    if suffix and kwargs.get("dim") is None:
        kwargs = {**kwargs, "dim": int(suffix.removeprefix("@dim"))}
    try:
        return load_model(name, local_files_only=True, **kwargs)
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"{saved_folder} names model {short_repr(name)}, which is not on this machine "
            f"({short_repr(str(exc).splitlines()[0], 80)}); relvec never downloads what a saved file names: "
            "pass --model PATH_OR_ID"
        ) from None


def model_identity(model: Any) -> dict[str, Any]:
    """What identifies a model's embedding space: its name, type, dimension, settings and a fingerprint.

    The fingerprint is the unit embedding of :data:`PROBE_PAIRS`; two models match when these agree
    to cosine >= 0.999 (robust to bf16 vs fp32), whatever their paths.
    """
    identity: dict[str, Any] = {
        "name": str(getattr(model, "name_or_path", "") or type(model).__name__),
        "model_type": getattr(model, "model_type", "relation_encoder"),
        "embedding_dim": int(model.embedding_dim),
    }
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "template"):
        identity.update(template=config.template, pooling=config.pooling, backbone=config.backbone)
    probe = np.asarray(model.encode(list(PROBE_PAIRS), normalize=True, show_progress_bar=False), dtype=np.float64)
    identity["fingerprint"] = [[round(float(x), 6) for x in row] for row in probe]
    return identity


def same_model(identity: dict[str, Any], other: dict[str, Any], tolerance: float = 1e-3) -> bool:
    """True when two identities describe the same embedding space (see :func:`model_identity`)."""
    if identity.get("embedding_dim") != other.get("embedding_dim"):
        return False
    a = np.asarray(identity.get("fingerprint", []), dtype=np.float64)
    b = np.asarray(other.get("fingerprint", []), dtype=np.float64)
    if a.shape != b.shape or a.size == 0:
        return False
    cos = (a * b).sum(axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    zero = (np.linalg.norm(a, axis=1) == 0) & (np.linalg.norm(b, axis=1) == 0)
    return bool(np.all((cos >= 1 - tolerance) | zero))
