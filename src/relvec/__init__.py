"""relvec: relation embeddings for word pairs.

The public names are imported on first use, so the command line starts without loading torch.
"""

from __future__ import annotations

from relvec.extras import lazy_names
from relvec.version import __version__

_EXPORTS = {
    "TEMPLATES": "relvec.prompts",
    "HybridEncoder": "relvec.encoders.hybrid",
    "RelationEncoder": "relvec.encoders.prompt",
    "RelvecConfig": "relvec.config",
    "OffsetEncoder": "relvec.encoders.offset",
    "StaticOffsetEncoder": "relvec.encoders.offset",
    "StaticRelationEncoder": "relvec.encoders.static_relation",
    "load_model": "relvec.encoders.loading",
}
__all__ = [*sorted(_EXPORTS), "__version__"]


__getattr__ = lazy_names(__name__, _EXPORTS)
