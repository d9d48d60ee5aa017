"""relvec: relation embeddings for word pairs."""

__version__ = "0.1.0"

from relvec.config import RelvecConfig
from relvec.model import RelationEncoder
from relvec.prompts import TEMPLATES

__all__ = ["TEMPLATES", "RelationEncoder", "RelvecConfig", "__version__"]
