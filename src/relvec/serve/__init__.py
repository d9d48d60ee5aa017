"""``relvec serve``: relation embeddings over HTTP (FastAPI + uvicorn, ``pip install 'relvec[serve]'``).

Rooms: :mod:`~relvec.serve.app` (the endpoints), :mod:`~relvec.serve.engine` (every model call, off the event
loop, bounded; parts warmed in the background), :mod:`~relvec.serve.limits` (the one source of the limits and the
command line's defaults), :mod:`~relvec.serve.metrics` (Prometheus text), :mod:`~relvec.serve.page` (the explorer
and its map). Names are imported on first use, so ``relvec serve --help`` reads the limits without loading FastAPI
or torch.
"""

from __future__ import annotations

from relvec.extras import lazy_names

_EXPORTS = {
    "Batcher": ".engine",
    "Engine": ".engine",
    "Limits": ".limits",
    "Metrics": ".metrics",
    "RequestError": ".limits",
    "create_app": ".app",
    "explorer_page": ".page",
    "index_map": ".page",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_names(__name__, _EXPORTS)
