"""The choices relvec offers, in one torch-free place: the library validates against these lists and the command
line builds its flags from them, so a choice is written once (``relvec --help`` imports this module and no model
code)."""

from __future__ import annotations

# How a model computes: "auto" is bf16 where the CPU runs it natively (AMX / AVX512-BF16), else fp32
# (relvec.precision resolves it; $RELVEC_PRECISION overrides "auto").
PRECISIONS = ("auto", "fp32", "bf16")
DEFAULT_PRECISION = "auto"
# What runs a relation encoder: its PyTorch weights or its export (``relvec export``).
RUNTIMES = ("torch", "onnx", "openvino")
DEFAULT_RUNTIME = "torch"
# Token pooling of a prompt encoder.
POOLING_MODES = ("mask", "average", "average_no_mask")
DEFAULT_POOLING = "average_no_mask"
# Pairs per forward pass of a transformer model (a static model computes in blocks of its own).
DEFAULT_BATCH_SIZE = 64
# How a neighbour index searches; "auto" picks by size (relvec.search.choose_backend).
INDEX_BACKENDS = (
    *("exact", "faiss", "faiss-hnsw", "faiss-ivf", "faiss-hnsw-sq8", "faiss-ivfpq", "faiss-ivf-sq8", "auto"),
)
# Backends over compressed codes (int8 scalar quantisation, product quantisation): in memory, their shortlist is
# rescored exactly; built from shards, faiss-ivf-sq8 keeps only its codes (relvec.code_index).
COMPRESSED_INDEX_BACKENDS = ("faiss-hnsw-sq8", "faiss-ivfpq", "faiss-ivf-sq8")
DEFAULT_INDEX_BACKEND = "auto"
# What ``relvec export`` writes.
EXPORT_FORMATS = ("onnx", "openvino")
DEFAULT_EXPORT_FORMAT = "openvino"  # measured faster than ONNX Runtime on the CPUs of BENCHMARKS.md
QUANTIZATIONS = ("int8",)
# Candidate arithmetic of analogy completion: 3CosAdd, 3CosMul.
COMPLETION_METHODS = ("add", "mul")
# Where the pairs of ``neighbours build --from-data`` come from.
DATA_SOURCES = ("analogy", "lexical", "semeval")


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    """``value`` when it is one of ``choices``, else a ValueError naming the option."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value
