"""relvec: relation embeddings for word pairs."""

from relvec.config import RelvecConfig
from relvec.encoders import HybridEncoder, StaticOffsetEncoder, load_model
from relvec.encoders.prompt import RelationEncoder
from relvec.prompts import TEMPLATES
from relvec.version import __version__

__all__ = [
    "TEMPLATES",
    "HybridEncoder",
    "RelationEncoder",
    "RelvecConfig",
    "StaticOffsetEncoder",
    "__version__",
    "load_model",
]
