"""The old import path of the offset baseline: see :mod:`relvec.encoders.offset` (``StaticOffsetEncoder`` is
:class:`~relvec.encoders.offset.OffsetEncoder`)."""

from relvec.encoders.offset import (
    GLOVE_NAME,
    GLOVE_PACKAGE,
    OFFSET_MODEL_TYPE,
    STATIC_MODEL_TYPE,
    OffsetEncoder,
    StaticOffsetEncoder,
    WordVectors,
    read_offset_config,
    read_static_config,
)

__all__ = [
    "GLOVE_NAME",
    "GLOVE_PACKAGE",
    "OFFSET_MODEL_TYPE",
    "STATIC_MODEL_TYPE",
    "OffsetEncoder",
    "StaticOffsetEncoder",
    "WordVectors",
    "read_offset_config",
    "read_static_config",
]
